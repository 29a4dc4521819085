"use client";

import { Button } from "@flowplane/ui";
import { signIn } from "next-auth/react";
import { useEffect, useState } from "react";

/** "Sign in with <IdP>": shown only when the console has an OIDC provider configured. */
export function OidcSignInButton({ name, callbackUrl }: { name: string; callbackUrl: string }) {
  const [pending, setPending] = useState(false);
  // Off until hydrated: a click before then would do nothing.
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);
  return (
    <Button
      variant="secondary"
      disabled={pending || !ready}
      style={{ width: "100%" }}
      onClick={() => {
        setPending(true);
        void signIn("oidc", { callbackUrl });
      }}
    >
      {pending ? `Opening ${name}…` : `Sign in with ${name}`}
    </Button>
  );
}
