import type { Db } from "@flowplane/db/client";
import { resource, type TSourceResource } from "@flowplane/db/clouds";

/** Hosts the organization's own agents report (hostname and IPs, from the Agent rows). */
export async function syncAgentHosts(db: Db, orgId: string): Promise<TSourceResource[]> {
  const agents = await db.forOrg(orgId).agent.findMany({
    where: { disabledAt: null },
    select: { id: true, hostname: true, ips: true, name: true },
    orderBy: { id: "asc" },
  });
  return agents.map((a) =>
    resource({
      kind: "host",
      externalId: a.id,
      name: a.hostname || a.name,
      ips: a.ips,
      attrs: { agentId: a.id },
    }),
  );
}
