import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orgQuery } from "../client.ts";
import { insertEncoded } from "../record-rows.ts";
import { TsvRows } from "../record-tsv.ts";
import { ROW_TABLES } from "../rows/index.ts";
import { encodeTsvLines, wireColumns } from "../rows/wire-tsv.ts";
import { createTestClickhouse, type TestClickhouse } from "../testing.ts";
import { AGENT, ORG_A, ORG_B } from "../testing-fixtures.ts";
import { l4Rows } from "./arbitraries.ts";
import { encodeNativeBlock } from "./encode.ts";
import { validateNativeBlock } from "./validate.ts";

/**
 * The same random L4 rows through the TSV path (org A) and as Native blocks (org B) must read back
 * as the same rows: ClickHouse takes the blocks as they are, types converted where the table's
 * differ (a token sent as plain String into LowCardinality(String)).
 */
let ch: TestClickhouse;
beforeAll(async () => {
  ch = await createTestClickhouse("native_block");
});
afterAll(async () => {
  await ch?.drop();
});

const L4 = ROW_TABLES.l4_flow_log;

/** Inserts blocks (concatenated: one Native stream) as the store receives an insert. */
async function insertNative(payloads: Buffer[], columns: string[]): Promise<void> {
  const query = `INSERT INTO l4_flow_log (${columns.join(", ")}) FORMAT Native`;
  const url = `${ch.url}/?database=${encodeURIComponent(ch.database)}&query=${encodeURIComponent(query)}&insert_deduplication_token=nb-${randomUUID()}`;
  const res = await fetch(url, { method: "POST", body: Buffer.concat(payloads) });
  if (!res.ok) throw new Error(`native insert: ${res.status} ${await res.text()}`);
}

const SELECT = `SELECT * EXCEPT (org_id) REPLACE (toString(agent_id) AS agent_id) FROM l4_flow_log
  WHERE org_id = {org_id:UUID} ORDER BY flow_id, start_time, end_time, client_ip, client_port, server_ip, server_port, report_seq, close_type, bytes_c2s, packets_c2s FORMAT JSONEachRow`;

describe("Native blocks into ClickHouse", () => {
  it("store the same rows as the TSV path, tag columns included", async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(l4Rows(40), fc.boolean(), async (rows, asString) => {
        round++;
        await ch.client.command({ query: "TRUNCATE TABLE l4_flow_log" });
        const columns = wireColumns(L4);
        const tagsOf = (ips: Uint8Array) => {
          const out = new Uint32Array(ips.length / 16);
          for (let i = 0; i < out.length; i++) out[i] = (ips[16 * i + 15] as number) % 3; // 0: none
          return out;
        };
        // TSV: the tags as TsvRows' overrides, from the same addresses.
        const body = Buffer.from(encodeTsvLines(L4, columns, rows));
        const tsv = new TsvRows("l4_flow_log", columns, body, 0, rows.length);
        const nativeCols = columns.filter((c) => c !== "client_resource_id" && c !== "server_resource_id");
        const half = Math.ceil(rows.length / 2);
        const blocks = [rows.slice(0, half), rows.slice(half)].map((part) =>
          validateNativeBlock(
            encodeNativeBlock("l4_flow_log", part, {
              columns: nativeCols,
              tokens: asString ? "string" : "lowCardinality",
            }),
            {
              table: "l4_flow_log",
              orgId: ORG_B,
              agentId: AGENT,
              tags: [
                { column: "client_resource_id", from: "client_ip", ids: tagsOf },
                { column: "server_resource_id", from: "server_ip", ids: tagsOf },
              ],
            },
          ),
        );
        const ips = (name: string) => {
          const out = new Uint8Array(rows.length * 16);
          let o = 0;
          // The same bytes the validator gave the tagger, for the TSV side's overrides.
          for (const r of rows) {
            const one = encodeNativeBlock("l4_flow_log", [r], { columns: [name] });
            out.set(one.subarray(one.length - 16), o);
            o += 16;
          }
          return out;
        };
        const enc = tsv.encode(
          ORG_A,
          AGENT,
          new Map([
            ["client_resource_id", tagsOf(ips("client_ip"))],
            ["server_resource_id", tagsOf(ips("server_ip"))],
          ]),
        );
        tsv.release();
        expect(enc.rejected).toEqual([]);
        await insertEncoded(ch.client, "l4_flow_log", enc.payload);
        const ok = blocks.map((b) => {
          if (!b.ok) throw new Error(b.error);
          return b;
        });
        expect(new Set(ok.map((b) => b.signature)).size).toBe(1);
        await insertNative(
          ok.map((b) => b.payload),
          ok[0]?.columns ?? [],
        );
        const a = await orgQuery(ch.client, ORG_A, SELECT.replace(" FORMAT JSONEachRow", ""));
        const b = await orgQuery(ch.client, ORG_B, SELECT.replace(" FORMAT JSONEachRow", ""));
        expect(b.length).toBe(rows.length);
        expect(b).toEqual(a);
      }),
      { numRuns: 8 },
    );
    expect(round).toBe(8);
  }, 120_000);
});
