import type { ReactNode } from "react";

export function Card({
  title,
  actions,
  children,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
}) {
  return (
    <section className="fp-card">
      {(title || actions) && (
        <header className="fp-card-header">
          {title && <h2 className="fp-card-title">{title}</h2>}
          {actions && <div className="fp-card-actions">{actions}</div>}
        </header>
      )}
      <div className="fp-card-body">{children}</div>
    </section>
  );
}

/** One number with its label, for overview grids. */
export function Stat({ label, value, hint }: { label: string; value: ReactNode; hint?: ReactNode }) {
  return (
    <div className="fp-stat">
      <div className="fp-stat-label">{label}</div>
      <div className="fp-stat-value">{value}</div>
      {hint && <div className="fp-stat-hint">{hint}</div>}
    </div>
  );
}
