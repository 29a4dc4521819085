import type { Logger } from "@flowplane/core/log";
import type { Db } from "@flowplane/db/client";
import type { TTagColumn } from "@flowplane/query/native-block";
import type { Redis } from "ioredis";
import type {
  TRowWriter,
  TTagFieldInput,
  TTagFields,
  TTaggingRowWriter,
  TTagNative,
  TTagRows,
} from "../ingest/ingest.ts";
import type { TagDictionary } from "./dictionary.ts";
import { dictionaryVersion, loadDictionary } from "./load.ts";
import { tagFieldIds } from "./tag-fields.ts";
import { nativeTagColumns } from "./tag-native.ts";

/** Redis key holding an org's dictionary version; syncs set it (and publish on the channel). */
export const versionKey = (orgId: string) => `fp:tagdict:v:${orgId}`;
export const VERSION_CHANNEL = "fp:tagdict:changed";

/**
 * Tables whose rows carry client_ip/server_ip and client/server_resource_id. application_metrics
 * rows are summed over clients (no client_ip): only their server side is tagged (DDL 0010).
 */
export const TAGGED_TABLES: ReadonlySet<string> = new Set([
  "l4_flow_log",
  "l7_flow_log",
  "network_metrics",
  "application_metrics",
]);

type TOrgEntry = { dict?: TagDictionary; checkedAt: number; loading?: Promise<TagDictionary> };

/**
 * The ingest side of AutoTagging, one per process (controller or data node). Each org's dictionary
 * lives in memory; at most once per `checkEveryMs` per org the version is read (Redis, else the
 * org's inventory row) and the dictionary is rebuilt from Postgres only when it moved. Rows are
 * never a Postgres call each.
 */
export class ResourceTagger {
  readonly #orgs = new Map<string, TOrgEntry>();
  readonly #db: Db;
  readonly #redis: Redis | undefined;
  readonly #checkEveryMs: number;
  readonly #log: Logger | undefined;
  /** Rebuilds done (tests and metrics). */
  loads = 0;

  constructor(opts: { db: Db; redis?: Redis; checkEveryMs?: number; log?: Logger }) {
    this.#db = opts.db;
    this.#redis = opts.redis;
    this.#checkEveryMs = opts.checkEveryMs ?? 1000;
    this.#log = opts.log;
  }

  async #currentVersion(orgId: string): Promise<number> {
    if (this.#redis) {
      const v = await this.#redis.get(versionKey(orgId)).catch(() => null);
      if (v !== null) return Number(v);
    }
    return dictionaryVersion(this.#db, orgId);
  }

  async dictionaryFor(orgId: string): Promise<TagDictionary> {
    let entry = this.#orgs.get(orgId);
    if (!entry) {
      entry = { checkedAt: 0 };
      this.#orgs.set(orgId, entry);
    }
    if (entry.dict && Date.now() - entry.checkedAt < this.#checkEveryMs) return entry.dict;
    if (entry.loading) return entry.loading;
    entry.loading = (async () => {
      try {
        const version = await this.#currentVersion(orgId);
        if (!entry.dict || entry.dict.version !== version) {
          entry.dict = await loadDictionary(this.#db, orgId);
          this.loads++;
          this.#log?.debug({ orgId, version: entry.dict.version }, "tag dictionary loaded");
        }
        entry.checkedAt = Date.now();
        return entry.dict;
      } finally {
        entry.loading = undefined;
      }
    })();
    return entry.loading;
  }

  /** Forget an org's dictionary at once (a push told us it changed). */
  invalidate(orgId: string): void {
    const e = this.#orgs.get(orgId);
    if (e) e.checkedAt = 0;
  }

  /**
   * Sets client/server_resource_id on rows whose IPs resolve (in place). `agentId` is the sending
   * agent (else each row's `agent_id`). A property is written only when it changes: adding
   * properties to these wide rows is the expensive part; ingest tags the parsed rows once, in place,
   * and tells the writer so (`tagged`), which then skips its own pass.
   */
  async tagRows(
    table: string,
    orgId: string,
    rows: Record<string, unknown>[],
    agentId?: string,
  ): Promise<void> {
    if (!TAGGED_TABLES.has(table) || rows.length === 0) return;
    const dict = await this.dictionaryFor(orgId);
    for (const row of rows) {
      const agent = agentId ?? (typeof row.agent_id === "string" ? row.agent_id : undefined);
      const ctx = dict.contextFor(agent, typeof row.tunnel_id === "number" ? row.tunnel_id : undefined);
      if (typeof row.client_ip === "string") {
        const id = dict.resolve(row.client_ip, ctx).resourceId;
        if (id && row.client_resource_id !== id) row.client_resource_id = id;
      }
      if (typeof row.server_ip === "string") {
        const id = dict.resolve(row.server_ip, ctx).resourceId;
        if (id && row.server_resource_id !== id) row.server_resource_id = id;
      }
    }
  }

  /**
   * `tagRows` for a compact batch, reading the address fields as bytes (tagging/tag-fields.ts):
   * the tag columns' ids per row, or undefined when nothing resolves.
   */
  async tagFields(
    table: string,
    orgId: string,
    agentId: string,
    input: TTagFieldInput,
  ): Promise<Map<string, Uint32Array> | undefined> {
    if (!TAGGED_TABLES.has(table) || input.count === 0) return undefined;
    const dict = await this.dictionaryFor(orgId);
    return tagFieldIds(dict, agentId, input);
  }

  /**
   * `tagRows` for a Native batch: the tag columns `validateNativeBlock` computes from the block's
   * addresses (tagging/tag-native.ts), or undefined when nothing can resolve.
   */
  async tagNative(table: string, orgId: string, agentId: string): Promise<TTagColumn[] | undefined> {
    if (!TAGGED_TABLES.has(table)) return undefined;
    return nativeTagColumns(await this.dictionaryFor(orgId), agentId);
  }

  /**
   * Subscribes to version pushes so a change is seen at once rather than at the next check; the
   * periodic check stays as the fallback when a message is missed.
   */
  async listen(subscriber: Redis): Promise<() => Promise<void>> {
    await subscriber.subscribe(VERSION_CHANNEL);
    const onMessage = (_channel: string, orgId: string) => this.invalidate(orgId);
    subscriber.on("message", onMessage);
    return async () => {
      subscriber.off("message", onMessage);
      await subscriber.unsubscribe(VERSION_CHANNEL).catch(() => {});
    };
  }
}

/**
 * The ingest writer with tagging in front: wire as `writeRows: withTagging(tagger, write)`. It
 * carries `tagRows`, which `ingestBatch` calls on the parsed rows before writing them `tagged` (see
 * ingest.ts); rows reaching the writer any other way are tagged here. A tagging failure (Postgres
 * down while a reload is due) writes the rows untagged rather than losing them. The inner writer's
 * `writeEncoded` and `writeNative` (compact and Native batches, tagged by ingest) are passed through.
 */
export function withTagging(tagger: ResourceTagger, write: TRowWriter, log?: Logger): TTaggingRowWriter {
  const tagRows: TTagRows = async (table, orgId, agentId, rows) => {
    try {
      await tagger.tagRows(table, orgId, rows, agentId);
    } catch (err) {
      log?.warn({ err, orgId }, "tagging failed: rows written untagged");
    }
  };
  const writer: TRowWriter = async (table, orgId, rows, opts) => {
    if (!opts?.tagged) await tagRows(table, orgId, opts?.agentId, rows);
    return write(table, orgId, rows, opts);
  };
  const tagFields: TTagFields = async (table, orgId, agentId, input) => {
    try {
      return await tagger.tagFields(table, orgId, agentId, input);
    } catch (err) {
      log?.warn({ err, orgId }, "tagging failed: rows written untagged");
      return undefined;
    }
  };
  const tagNative: TTagNative = async (table, orgId, agentId) => {
    try {
      return await tagger.tagNative(table, orgId, agentId);
    } catch (err) {
      log?.warn({ err, orgId }, "tagging failed: rows written untagged");
      return undefined;
    }
  };
  const { writeEncoded, writeNative } = write as TTaggingRowWriter;
  return Object.assign(writer, {
    tagRows,
    tagFields,
    tagNative,
    ...(writeEncoded ? { writeEncoded } : {}),
    ...(writeNative ? { writeNative } : {}),
  });
}
