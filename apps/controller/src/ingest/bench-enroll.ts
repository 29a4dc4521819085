import { seedAgentGroup, seedEnrollmentToken, seedOrg } from "@flowplane/db/seed";
import { enroll } from "../../../agent/src/controller-link/index.ts";

/**
 * One agent enrolled at the controller at `url`, as the benches' agents are: in `opts.org` when
 * given (an org a bench has set up), else in a fresh org.
 */
export async function enrollBenchAgent(
  db: Parameters<typeof seedOrg>[0],
  url: string,
  opts: { org?: { id: string }; hostname?: string } = {},
) {
  const org = opts.org ?? (await seedOrg(db));
  const group = await seedAgentGroup(db, org.id);
  const token = await seedEnrollmentToken(db, org.id, group.id);
  const agent = await enroll(url, {
    enrollmentToken: token.token,
    hostname: opts.hostname ?? "bench",
    ips: [],
    agentVersion: "bench",
    os: "linux",
  });
  return { org, agent };
}
