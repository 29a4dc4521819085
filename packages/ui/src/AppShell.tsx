import type { ReactNode } from "react";

export type NavItem = { href: string; label: string; active?: boolean; soon?: boolean };

export type AppShellProps = {
  /** Left of the header: usually the org switcher. */
  brandHref?: string;
  switcher?: ReactNode;
  /** Right of the header: the signed-in user and sign-out. */
  user?: ReactNode;
  nav?: NavItem[];
  children: ReactNode;
};

/** Header + side navigation + content. Plain markup so it renders on the server. */
export function AppShell({ brandHref = "/", switcher, user, nav = [], children }: AppShellProps) {
  return (
    <div className="fp-shell">
      <header className="fp-header">
        <a className="fp-brand" href={brandHref}>
          <span className="fp-brand-mark" aria-hidden="true" />
          Flowplane
        </a>
        <div className="fp-header-switcher">{switcher}</div>
        <div className="fp-header-user">{user}</div>
      </header>
      <div className="fp-body">
        {nav.length > 0 && (
          <nav className="fp-nav" aria-label="Sections">
            {nav.map((item) => (
              <a
                key={item.href}
                href={item.href}
                className={item.active ? "fp-nav-item fp-nav-item-active" : "fp-nav-item"}
                aria-current={item.active ? "page" : undefined}
              >
                {item.label}
                {item.soon && <span className="fp-nav-soon">soon</span>}
              </a>
            ))}
          </nav>
        )}
        <main className="fp-main">{children}</main>
      </div>
    </div>
  );
}
