/** The org's sections. `ready: false` ones are planned pages (analysis issue) shown as "soon". */
export function orgSections(orgSlug: string) {
  const base = `/o/${orgSlug}`;
  return [
    { href: base, label: "Overview", ready: true, exact: true, blurb: "Organization at a glance" },
    {
      href: `${base}/agents`,
      label: "Agents",
      ready: true,
      exact: false,
      blurb: "The agent fleet and its state",
    },
    {
      href: `${base}/flows`,
      label: "Flow logs",
      ready: false,
      exact: false,
      blurb: "L4 flows between endpoints",
    },
    {
      href: `${base}/l7`,
      label: "L7 logs",
      ready: false,
      exact: false,
      blurb: "HTTP, DNS, SQL and more, per request",
    },
    { href: `${base}/topology`, label: "Topology", ready: false, exact: false, blurb: "Who talks to whom" },
    {
      href: `${base}/traces`,
      label: "Traces",
      ready: false,
      exact: false,
      blurb: "Distributed traces from network spans",
    },
    {
      href: `${base}/metrics`,
      label: "Metrics",
      ready: false,
      exact: false,
      blurb: "Network and application metrics",
    },
  ];
}
