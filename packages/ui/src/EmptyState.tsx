import type { ReactNode } from "react";

export function EmptyState({
  title,
  children,
  action,
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
}) {
  return (
    <div className="fp-empty" role="status">
      <div className="fp-empty-title">{title}</div>
      {children && <div className="fp-empty-text">{children}</div>}
      {action && <div className="fp-empty-action">{action}</div>}
    </div>
  );
}
