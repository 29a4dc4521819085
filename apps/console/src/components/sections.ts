/**
 * The org's sections. `ready: false` ones are planned pages (analysis issue) shown as "soon";
 * `permission` is what a role needs to see the section (the layout hides the others).
 */
export function orgSections(orgSlug: string) {
  const base = `/o/${orgSlug}`;
  return [
    {
      href: base,
      label: "Overview",
      ready: true,
      exact: true,
      permission: "org.read",
      blurb: "Organization at a glance",
    },
    {
      href: `${base}/agents`,
      label: "Agents",
      ready: true,
      exact: false,
      permission: "agents.read",
      blurb: "The agent fleet and its state",
    },
    {
      href: `${base}/groups`,
      label: "Agent groups",
      ready: true,
      exact: false,
      permission: "groups.read",
      blurb: "Configurations, versioned",
    },
    {
      href: `${base}/enrollment`,
      label: "Enrolment",
      ready: true,
      exact: false,
      permission: "enrollment.read",
      blurb: "Tokens that let agents join",
    },
    {
      href: `${base}/members`,
      label: "Members",
      ready: true,
      exact: false,
      permission: "members.read",
      blurb: "People and their roles",
    },
    {
      href: `${base}/api-keys`,
      label: "API keys",
      ready: true,
      exact: false,
      permission: "apikeys.read",
      blurb: "Keys for scripts",
    },
    {
      href: `${base}/audit`,
      label: "Audit log",
      ready: true,
      exact: false,
      permission: "audit.read",
      blurb: "Every change: who, what, when",
    },
    {
      href: `${base}/settings`,
      label: "Settings",
      ready: true,
      exact: false,
      permission: "org.read",
      blurb: "Name and deletion",
    },
    {
      href: `${base}/flows`,
      label: "Flow logs",
      ready: true,
      exact: false,
      permission: "telemetry.read",
      blurb: "L4 flows between endpoints",
    },
    {
      href: `${base}/l7`,
      label: "L7 logs",
      ready: true,
      exact: false,
      permission: "telemetry.read",
      blurb: "HTTP, DNS, SQL and more, per request",
    },
    {
      href: `${base}/topology`,
      label: "Topology",
      ready: true,
      exact: false,
      permission: "telemetry.read",
      blurb: "Who talks to whom",
    },
    {
      href: `${base}/traces`,
      label: "Traces",
      ready: true,
      exact: false,
      permission: "telemetry.read",
      blurb: "Distributed traces from network spans",
    },
    {
      href: `${base}/metrics`,
      label: "Metrics",
      ready: true,
      exact: false,
      permission: "telemetry.read",
      blurb: "Network and application metrics",
    },
  ] as const;
}
