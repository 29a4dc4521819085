"use client";

import { Button } from "@flowplane/ui";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useTRPC } from "../trpc/react.tsx";
import { ErrorAlert } from "./ErrorAlert.tsx";

export function AcceptInvitation({ token }: { token: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const accept = useMutation(
    trpc.members.acceptInvitation.mutationOptions({
      onSuccess: (joined) => {
        router.replace(`/o/${joined.orgSlug}`);
        router.refresh();
      },
    }),
  );
  return (
    <>
      <ErrorAlert error={accept.error} />
      <Button onClick={() => accept.mutate({ token })} disabled={accept.isPending || accept.isSuccess}>
        {accept.isPending ? "Joining…" : "Accept invitation"}
      </Button>
    </>
  );
}
