"use client";

import { usePathname, useRouter } from "next/navigation";

type Org = { slug: string; name: string; role: string };

/** Switches org and stays on the same section (/o/a/agents → /o/b/agents). */
export function OrgSwitcher({ orgs, current }: { orgs: Org[]; current: string }) {
  const router = useRouter();
  const pathname = usePathname();
  return (
    <label>
      <span className="fp-sr-only">Organization</span>
      <select
        value={current}
        aria-label="Organization"
        onChange={(e) => {
          const rest = pathname.split("/").slice(3).join("/");
          router.push(`/o/${e.target.value}${rest ? `/${rest}` : ""}`);
        }}
      >
        {orgs.map((o) => (
          <option key={o.slug} value={o.slug}>
            {o.name} ({o.role})
          </option>
        ))}
      </select>
    </label>
  );
}
