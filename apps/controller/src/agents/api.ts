import type { Logger } from "@flowplane/core/log";
import type { Db } from "@flowplane/db/client";
import { DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_ROWS } from "@flowplane/protocol";
import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import { registerAgentAuth, requireAgent } from "../auth/agent-auth.ts";
import { BatchLedger } from "../ingest/batch-ledger.ts";
import { InFlightLimiter, type TIngestTicket } from "../ingest/in-flight.ts";
import { ingestBatch, type TRowWriter } from "../ingest/ingest.ts";
import { ingestNativeBatch, isNativeBatch } from "../ingest/ingest-native.ts";
import { ingestTsvBatch, isTsvBatch, unsupportedEncoding } from "../ingest/ingest-tsv.ts";
import { OrgRowQuota } from "../ingest/quota.ts";
import type { TNpbCounterWriter } from "../npb/counters.ts";
import { syncAgent } from "../sync/sync.ts";
import { AgentApiError, sendApiError } from "./api-error.ts";
import { enrollAgent } from "./enroll.ts";

export type TAgentApiOptions = {
  /** Rotate an agent's credential at sync once it is this old. */
  credentialMaxAgeS: number;
  maxBatchBytes: number;
  maxBatchRows: number;
  /**
   * Batches processed at once by this process before 429. 16, not 8: the coalescer puts every
   * batch waiting into the next insert, and with 8 in flight all of them sat in the running insert,
   * so none arrived meanwhile and the store idled between inserts (ingest bench, session 6, 4
   * alternated pairs: median 57 % of the ceiling against 51.5 %). Bodies held at most: 16 x
   * maxBatchBytes (8 MiB) = 128 MiB.
   */
  maxInFlightBatches: number;
  /** How long a written batch id is remembered (replays within it are answered, not written). */
  batchIdTtlS: number;
  /** Rows per second one org may send, over all its agents and every ingest process; 0: no limit. */
  orgRowsPerS: number;
};

export const DEFAULT_AGENT_API_OPTIONS: TAgentApiOptions = {
  credentialMaxAgeS: 7 * 24 * 3600,
  maxBatchBytes: DEFAULT_MAX_BATCH_BYTES,
  maxBatchRows: DEFAULT_MAX_BATCH_ROWS,
  maxInFlightBatches: 16,
  batchIdTtlS: 24 * 3600,
  orgRowsPerS: 200_000,
};

export type TAgentApiDeps = {
  db: Db;
  redis: Redis;
  /** `recordRows` bound to the controller's ClickHouse client. */
  writeRows: TRowWriter;
  /** Stores packet-broker counters from heartbeats; without it agents keep theirs for later. */
  writeNpbCounters?: TNpbCounterWriter;
  options?: Partial<TAgentApiOptions>;
};

/** Fastify's own request errors (body too large, bad JSON, ...) in the protocol's envelope. */
function toApiError(err: FastifyError, opts: TAgentApiOptions, req: FastifyRequest): AgentApiError {
  if (err instanceof AgentApiError) return err;
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return new AgentApiError(
      "PAYLOAD_TOO_LARGE",
      `request body is larger than the limit of ${opts.maxBatchBytes} bytes: send smaller batches`,
    );
  }
  const status = err.statusCode ?? 500;
  if (status === 415) {
    if (req.routeOptions.url === "/v1/ingest") return unsupportedEncoding(req.headers["content-type"]);
    return new AgentApiError("BAD_REQUEST", "send the body as application/json");
  }
  if (status >= 400 && status < 500) return new AgentApiError("BAD_REQUEST", err.message);
  return new AgentApiError("INTERNAL", "internal error: the controller logged it");
}

/**
 * The agent API: POST /v1/agents/enroll (token), and behind agent auth POST /v1/agents/sync and
 * POST /v1/ingest. Every answer that is not 2xx carries the protocol's error envelope.
 */
export function registerAgentApi(app: FastifyInstance, deps: TAgentApiDeps, log: Logger): void {
  const opts: TAgentApiOptions = { ...DEFAULT_AGENT_API_OPTIONS, ...deps.options };
  // A short claim, kept alive while its write runs (see BatchLedger.keepAlive).
  const ledger = new BatchLedger(deps.redis, { doneTtlS: opts.batchIdTtlS, pendingTtlS: 15 });
  const inFlight = new InFlightLimiter(opts.maxInFlightBatches);
  const quota = new OrgRowQuota(deps.redis, opts.orgRowsPerS);

  app.register(async (api) => {
    api.setErrorHandler((err: FastifyError, req, reply) => {
      const apiErr = toApiError(err, opts, req);
      // AgentApiErrors were logged with context where they were raised.
      if (apiErr.status >= 500 && !(err instanceof AgentApiError)) {
        log.error({ err, route: req.routeOptions.url }, "agent api error");
      }
      return sendApiError(reply, apiErr);
    });

    api.post("/v1/agents/enroll", async (req, reply) => {
      const res = await enrollAgent(deps.db, req.body, { ip: req.ip });
      log.info({ orgId: res.orgId, agentId: res.agentId }, "agent enrolled");
      return reply.code(201).send(res);
    });

    api.register(async (authed) => {
      registerAgentAuth(authed, deps.db);

      authed.post("/v1/agents/sync", async (req) => {
        return syncAgent(
          { db: deps.db, log, options: opts, writeNpbCounters: deps.writeNpbCounters },
          requireAgent(req),
          req.body,
        );
      });

      authed.register(async (ingest) => {
        // Counted before the body is read, so a flood is refused before it is buffered.
        ingest.addHook("onRequest", async (req) => {
          const ticket = inFlight.admit();
          if (!ticket) {
            throw new AgentApiError(
              "TOO_MANY_REQUESTS",
              `ingest is at its limit of ${inFlight.max} batches in flight: retry after the delay`,
              {},
              1,
            );
          }
          (req as { inFlightTicket?: TIngestTicket }).inFlightTicket = ticket;
        });
        const releaseOnce = async (req: object) => {
          (req as { inFlightTicket?: TIngestTicket }).inFlightTicket?.release();
        };
        ingest.addHook("onResponse", releaseOnce);
        ingest.addHook("onRequestAbort", releaseOnce);

        // The compact and Native encodings (and any other vnd.flowplane type, to answer it clearly)
        // as raw bytes: no JSON parse, no row objects (ingest/ingest-tsv.ts, ingest/ingest-native.ts).
        ingest.addContentTypeParser(
          /^application\/vnd\.flowplane\./,
          { parseAs: "buffer", bodyLimit: opts.maxBatchBytes },
          (_req, body, done) => done(null, body),
        );
        ingest.post("/v1/ingest", { bodyLimit: opts.maxBatchBytes }, async (req) => {
          const { agent } = requireAgent(req);
          const ingestDeps = {
            ledger,
            write: deps.writeRows,
            log,
            options: { maxBatchRows: opts.maxBatchRows },
            quota,
            redis: deps.redis,
            bodyBytes: Number(req.headers["content-length"] ?? 0),
            arrived: (req as { inFlightTicket?: TIngestTicket }).inFlightTicket?.arrived,
          };
          if (Buffer.isBuffer(req.body)) {
            const type = req.headers["content-type"];
            if (isTsvBatch(type)) return ingestTsvBatch(ingestDeps, agent, req.body);
            if (isNativeBatch(type)) return ingestNativeBatch(ingestDeps, agent, req.body);
            throw unsupportedEncoding(type);
          }
          return ingestBatch(ingestDeps, agent, req.body);
        });
      });
    });
  });
}
