"use client";

import { useState } from "react";

/** A value shown once (a token, a link, a command) with a copy button. */
export function SecretBox({ label, value, note }: { label: string; value: string; note?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="fp-secret" role="status">
      <div className="fp-secret-label">{label}</div>
      <div className="fp-secret-row">
        <code className="fp-secret-value" data-testid="secret-value">
          {value}
        </code>
        <button
          type="button"
          className="fp-btn fp-btn-secondary"
          onClick={() => {
            void navigator.clipboard?.writeText(value).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      {note && <div className="fp-hint">{note}</div>}
    </div>
  );
}
