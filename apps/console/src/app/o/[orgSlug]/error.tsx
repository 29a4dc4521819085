"use client";

import { Button, EmptyState } from "@flowplane/ui";

/** Any server error on an org page: a readable message and a retry, never a blank page. */
export default function OrgError({
  error,
  reset,
}: {
  error: Error & { digest?: string };
  reset: () => void;
}) {
  return (
    <EmptyState title="This page could not be loaded" action={<Button onClick={reset}>Try again</Button>}>
      {error.digest ? `Reference ${error.digest}. ` : ""}The server could not answer. Check that the database
      is up (GET /healthz).
    </EmptyState>
  );
}
