"use client";

import { NavList } from "@flowplane/ui";
import { usePathname } from "next/navigation";
import { orgSections } from "./sections.ts";

/** The side navigation of an org; highlights the section of the current path. */
export function OrgNav({ orgSlug }: { orgSlug: string }) {
  const pathname = usePathname();
  const items = orgSections(orgSlug).map((s) => ({
    href: s.href,
    label: s.label,
    soon: !s.ready,
    active: s.exact ? pathname === s.href : pathname.startsWith(s.href),
  }));
  return <NavList items={items} />;
}
