import type { ReactNode } from "react";

export type NavItem = { href: string; label: string; active?: boolean; soon?: boolean };

export type AppShellProps = {
  brandHref?: string;
  /** Left of the header, after the brand: usually the org switcher. */
  switcher?: ReactNode;
  /** Right of the header: the signed-in user and sign-out. */
  user?: ReactNode;
  /** The side navigation, usually a NavList (the app decides which item is active). */
  sidebar?: ReactNode;
  children: ReactNode;
};

/** Header + side navigation + content. Plain markup so it renders on the server. */
export function AppShell({ brandHref = "/", switcher, user, sidebar, children }: AppShellProps) {
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
        {sidebar && (
          <nav className="fp-nav" aria-label="Sections">
            {sidebar}
          </nav>
        )}
        <main className="fp-main">{children}</main>
      </div>
    </div>
  );
}

/** Side-navigation links; planned sections (`soon`) render as text, not dead links. */
export function NavList({ items }: { items: NavItem[] }) {
  return (
    <>
      {items.map((item) =>
        item.soon ? (
          <span key={item.href} className="fp-nav-item fp-nav-item-soon" aria-disabled="true">
            {item.label}
            <span className="fp-nav-soon">soon</span>
          </span>
        ) : (
          <a
            key={item.href}
            href={item.href}
            className={item.active ? "fp-nav-item fp-nav-item-active" : "fp-nav-item"}
            aria-current={item.active ? "page" : undefined}
          >
            {item.label}
          </a>
        ),
      )}
    </>
  );
}
