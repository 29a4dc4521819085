import { ButtonLink, EmptyState } from "@flowplane/ui";
import { redirect } from "next/navigation";
import { SignOutButton } from "../components/SignOutButton.tsx";
import { requireUser } from "../server/auth/current-user.ts";
import { serverCaller } from "../server/caller.ts";

export const dynamic = "force-dynamic";

/** `/` sends the user to their first organization. */
export default async function Home() {
  const user = await requireUser();
  const orgs = await (await serverCaller()).org.list();
  const first = orgs[0];
  if (first) redirect(`/o/${first.slug}`);
  return (
    <div className="fp-auth">
      <div className="fp-auth-box">
        <EmptyState
          title="No organization yet"
          action={
            <>
              <ButtonLink variant="primary" href="/orgs/new">
                Create an organization
              </ButtonLink>{" "}
              <SignOutButton />
            </>
          }
        >
          {user.email} is not a member of any organization. Create one, or open an invitation link from an
          owner.
        </EmptyState>
      </div>
    </div>
  );
}
