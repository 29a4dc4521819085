"use client";

import { Alert } from "@flowplane/ui";

type MaybeTrpcError = {
  message?: string;
  data?: { issues?: { fieldErrors?: Record<string, string[] | undefined>; formErrors?: string[] } };
};

/** A server error as a readable sentence: zod field problems by field, else the server's message. */
export function errorText(error: unknown): string {
  const e = error as MaybeTrpcError | null;
  const issues = e?.data?.issues;
  if (issues) {
    const parts = [
      ...(issues.formErrors ?? []),
      ...Object.entries(issues.fieldErrors ?? {}).map(
        ([field, msgs]) => `${field}: ${(msgs ?? []).join(", ")}`,
      ),
    ];
    if (parts.length) return parts.join(" · ");
  }
  return e?.message || "Something went wrong. Try again.";
}

export function ErrorAlert({ error }: { error: unknown }) {
  if (!error) return null;
  return <Alert tone="bad">{errorText(error)}</Alert>;
}
