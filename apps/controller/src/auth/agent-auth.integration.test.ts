import { hashToken } from "@flowplane/db";
import { seedAgent, seedAgentGroup, seedOrg } from "@flowplane/db/seed";
import { createTestDatabase, type TestDatabase } from "@flowplane/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unsafeFindAgentByCredentialHash } from "./agent-auth.ts";

/**
 * The credential lookup is plain SQL (it runs on every agent request): it must read what Prisma's
 * findFirst read, types included, and see every change at once (nothing cached).
 */
describe("unsafeFindAgentByCredentialHash", () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase("ctl_agent_auth");
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  const viaPrisma = (hash: string) =>
    tdb.db.unsafe.agent.findFirst({
      where: { OR: [{ credentialHash: hash }, { credentialPrevHash: hash }] },
      select: {
        id: true,
        orgId: true,
        groupId: true,
        credentialHash: true,
        credentialPrevHash: true,
        credentialIssuedAt: true,
        disabledAt: true,
        state: true,
        organization: { select: { deletedAt: true } },
      },
    });

  it("reads the agent by its current or previous credential as findFirst does; a change shows at once", async () => {
    const org = await seedOrg(tdb.db);
    const group = await seedAgentGroup(tdb.db, org.id);
    const agent = (await seedAgent(tdb.db, org.id, group.id)) as { id: string };
    const current = hashToken("fpa_current");
    const previous = hashToken("fpa_previous");
    await tdb.db.unsafe.agent.update({
      where: { id: agent.id },
      data: { credentialHash: current, credentialPrevHash: previous },
    });
    for (const hash of [current, previous]) {
      const row = await unsafeFindAgentByCredentialHash(tdb.db, hash);
      expect(row).toEqual(await viaPrisma(hash));
      expect(row?.credentialIssuedAt).toBeInstanceOf(Date);
    }
    expect(await unsafeFindAgentByCredentialHash(tdb.db, hashToken("fpa_unknown"))).toBeNull();

    // Revocations are seen by the very next lookup.
    await tdb.db.unsafe.agent.update({
      where: { id: agent.id },
      data: { disabledAt: new Date(), state: "disabled" },
    });
    const disabled = await unsafeFindAgentByCredentialHash(tdb.db, current);
    expect(disabled?.disabledAt).toBeInstanceOf(Date);
    expect(disabled?.state).toBe("disabled");
    await tdb.db.unsafe.organization.update({ where: { id: org.id }, data: { deletedAt: new Date() } });
    expect((await unsafeFindAgentByCredentialHash(tdb.db, current))?.organization.deletedAt).toBeInstanceOf(
      Date,
    );
    await tdb.db.unsafe.agent.update({ where: { id: agent.id }, data: { credentialPrevHash: null } });
    expect(await unsafeFindAgentByCredentialHash(tdb.db, previous)).toBeNull();
    await tdb.db.unsafe.agent.delete({ where: { id: agent.id } });
    expect(await unsafeFindAgentByCredentialHash(tdb.db, current)).toBeNull();
  });
});
