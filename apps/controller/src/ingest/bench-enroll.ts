import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import { enroll } from "../../../agent/src/controller-link/index.ts";

/** A fresh org with one agent enrolled at the controller at `url`, as the benches' agents are. */
export async function enrollBenchAgent(db: Parameters<typeof seedOrg>[0], url: string) {
  const org = await seedOrg(db);
  const group = await seedAgentGroup(db, org.id);
  const token = await seedEnrollmentToken(db, org.id, group.id);
  const agent = await enroll(url, {
    enrollmentToken: token.token,
    hostname: "bench",
    ips: [],
    agentVersion: "bench",
    os: "linux",
  });
  return { org, agent };
}
