import type { Metadata } from "next";
import { AcceptInvitation } from "../../../components/AcceptInvitation.tsx";
import { AuthBox } from "../../../components/AuthBox.tsx";
import { requireUser } from "../../../server/auth/current-user.ts";

export const metadata: Metadata = { title: "Invitation" };
export const dynamic = "force-dynamic";

export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const user = await requireUser(`/invite/${token}`);
  return (
    <AuthBox
      title="Join an organization"
      sub={`You are signed in as ${user.email}. The invitation must be for this address.`}
    >
      <AcceptInvitation token={token} />
    </AuthBox>
  );
}
