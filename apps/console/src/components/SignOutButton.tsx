"use client";

import { Button } from "@flowplane/ui";
import { signOut } from "next-auth/react";

export function SignOutButton() {
  return (
    <Button variant="ghost" onClick={() => signOut({ callbackUrl: "/signin" })}>
      Sign out
    </Button>
  );
}
