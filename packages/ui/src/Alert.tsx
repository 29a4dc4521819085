import type { ReactNode } from "react";

export type AlertTone = "bad" | "ok" | "info";

/** A message box; errors are announced to screen readers (role=alert), the rest politely. */
export function Alert({ tone = "bad", children }: { tone?: AlertTone; children: ReactNode }) {
  return (
    <div className={`fp-alert fp-alert-${tone}`} role={tone === "bad" ? "alert" : "status"}>
      {children}
    </div>
  );
}
