"use client";

import { NavList } from "@flowplane/ui";
import { usePathname } from "next/navigation";
import { orgSections } from "./sections.ts";

/** The side navigation of an org; shows the sections the role may see and highlights the current one. */
export function OrgNav({ orgSlug, visible }: { orgSlug: string; visible: string[] }) {
  const pathname = usePathname();
  const items = orgSections(orgSlug)
    .filter((s) => visible.includes(s.href))
    .map((s) => ({
      href: s.href,
      label: s.label,
      soon: !s.ready,
      active: s.exact ? pathname === s.href : pathname.startsWith(s.href),
    }));
  return <NavList items={items} />;
}
