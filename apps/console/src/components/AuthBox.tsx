import type { ReactNode } from "react";

/** The centred box of the pages outside an org (sign-in, sign-up, reset, invitations, account). */
export function AuthBox({ title, sub, children }: { title: string; sub?: ReactNode; children: ReactNode }) {
  return (
    <div className="fp-auth">
      <div className="fp-auth-box">
        <a className="fp-brand" href="/">
          <span className="fp-brand-mark" aria-hidden="true" />
          Flowplane
        </a>
        <h1>{title}</h1>
        {sub && (
          <p className="fp-page-sub" style={{ marginBottom: 16 }}>
            {sub}
          </p>
        )}
        {children}
      </div>
    </div>
  );
}
