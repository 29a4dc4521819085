import type { ReactNode } from "react";

/** A labelled form control with optional help text (linked by aria-describedby by the caller's id). */
export function Field({
  id,
  label,
  hint,
  children,
}: {
  id: string;
  label: string;
  hint?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className="fp-field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && (
        <small id={`${id}-hint`} className="fp-hint">
          {hint}
        </small>
      )}
    </div>
  );
}
