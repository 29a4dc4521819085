import type { AnchorHTMLAttributes, ButtonHTMLAttributes } from "react";

type Variant = "primary" | "secondary" | "ghost";

export type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant };

export function Button({ variant = "primary", className, type = "button", ...rest }: ButtonProps) {
  return <button type={type} className={`fp-btn fp-btn-${variant} ${className ?? ""}`.trim()} {...rest} />;
}

/** A link that looks like a button (navigation stays a link for keyboard and middle-click). */
export function ButtonLink({
  variant = "secondary",
  className,
  ...rest
}: AnchorHTMLAttributes<HTMLAnchorElement> & { variant?: Variant }) {
  return <a className={`fp-btn fp-btn-${variant} ${className ?? ""}`.trim()} {...rest} />;
}
