import type { ReactNode } from "react";

/**
 * The frame of a hand-written wide table: it scrolls sideways at narrow widths (1280 px with the
 * nav) and is focusable, named by `label`, so the keyboard can scroll it too (WCAG 2.1.1).
 */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
    <section className="fp-table-wrap" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
