"use client";

import { Button, EmptyState } from "@flowplane/ui";

/** Any server error outside an org page (sign-up, account, invitations): readable, with a retry. */
export default function RootError({
  error,
  reset,
}: {
  error: Error & { digest?: string };
  reset: () => void;
}) {
  return (
    <div className="fp-auth">
      <div className="fp-auth-box">
        <EmptyState title="This page could not be loaded" action={<Button onClick={reset}>Try again</Button>}>
          {error.digest ? `Reference ${error.digest}. ` : ""}The server could not answer. Check that the
          database is up (GET /healthz).
        </EmptyState>
      </div>
    </div>
  );
}
