import { Card, Stat } from "@flowplane/ui";
import type { Metadata } from "next";
import { orgSections } from "../../../components/sections.ts";
import { orNotFound, serverCaller } from "../../../server/caller.ts";
import { pageAccess } from "../../../server/page-access.ts";

export const metadata: Metadata = { title: "Overview" };

export default async function OrgOverview({ params }: { params: Promise<{ orgSlug: string }> }) {
  const { orgSlug } = await params;
  const overview = await orNotFound((await serverCaller()).org.overview({ orgSlug }));
  const access = await pageAccess(orgSlug);
  const sections = orgSections(orgSlug)
    .slice(1)
    .filter((s) => access.can(s.permission));
  return (
    <>
      <div className="fp-page-head">
        <div>
          <h1>{overview.org.name}</h1>
          <p className="fp-page-sub">
            Signed in as <strong>{overview.role}</strong> · slug{" "}
            <span className="fp-mono">{overview.org.slug}</span>
          </p>
        </div>
      </div>
      <div className="fp-grid">
        <Card>
          <Stat label="Your role" value={overview.role} />
        </Card>
        <Card>
          <Stat
            label="Agents"
            value={overview.agents.total}
            hint={`${overview.agents.online} online${overview.agents.archived ? ` · ${overview.agents.archived} archived` : ""}`}
          />
        </Card>
        <Card>
          <Stat label="Agent groups" value={overview.groups} />
        </Card>
      </div>
      <Card title="Explore">
        <ul className="fp-links">
          {sections.map((s) => (
            <li key={s.href}>
              {s.ready ? (
                <a href={s.href}>
                  {s.label}
                  <small>{s.blurb}</small>
                </a>
              ) : (
                <span className="fp-link-soon" aria-disabled="true">
                  {s.label} <span className="fp-nav-soon">soon</span>
                  <small>{s.blurb}</small>
                </span>
              )}
            </li>
          ))}
        </ul>
      </Card>
    </>
  );
}
