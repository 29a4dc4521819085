import { setFlagsFromString } from "node:v8";
import type { Logger } from "@flowplane/core/log";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { registerAgentApi, type TAgentApiDeps } from "../agents/api.ts";
import { runChecks, type TProbe } from "./health.ts";
import { createMetrics } from "./metrics.ts";

export type TControllerDeps = {
  log: Logger;
  /** Dependency probes for /healthz: each resolves when the dependency answers. */
  probes: Record<string, TProbe>;
  /** Enrolment, sync and ingest for agents (POST /v1/agents/*, /v1/ingest); left out, those routes 404. */
  agentApi?: TAgentApiDeps;
  /** Serve HTTPS with this PEM key and certificate (the agent link over TLS); plain HTTP without. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /**
   * With `agentApi`: V8's old-generation growing factor for this process, in percent over the
   * live heap after a full GC (`--heap-growing-percent`); 0 leaves V8's own. See
   * `INGEST_HEAP_GROWING_PERCENT`.
   */
  heapGrowingPercent?: number;
};

/**
 * An ingest process lets its old generation grow to 3 times the live heap between full GCs.
 * V8's own factor settles at ~1.6 on this heap (~40 MB live: Prisma, tsx, Fastify), so each ~1 MB
 * batch's objects and buffers, held until its insert lands, start a full GC every 5-10 batches:
 * 19-22 mark-compacts per 1 M rows, and their concurrent marking on V8's helper threads was about
 * half the process's CPU. At 200: 0-1 per 1 M rows; CPU per 100 k rows 0.12-0.16 -> 0.07-0.11 s
 * (bench-controller-native.ts), 0.215 -> 0.145 in the ingest bench at 600 k rows (means of 4
 * alternated runs; its 200 k-row figure is within its noise); the old generation may reach ~3 times
 * the live size (~120 MB) instead of ~1.6 (docs/notes/ingest-controller-session6.md).
 * Set at run time (the flag is read at each full GC), so the process's start command needs none.
 */
export const INGEST_HEAP_GROWING_PERCENT = 200;

/** The controller's HTTP surface. Agent sync and ingest routes are registered here by later issues. */
export function buildControllerServer(deps: TControllerDeps): FastifyInstance {
  if (deps.agentApi)
    setFlagsFromString(`--heap-growing-percent=${deps.heapGrowingPercent ?? INGEST_HEAP_GROWING_PERCENT}`);
  const metrics = createMetrics();
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Per-request lines would drown the agent traffic; errors and our own lines still log.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024 * 1024,
    ...(deps.tls ? { https: deps.tls } : {}),
  }) as unknown as FastifyInstance; // the HTTPS variant differs only in its server type

  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000);
  });

  app.get("/healthz", async (_req, reply) => {
    const { ok, checks } = await runChecks(deps.probes);
    for (const [dependency, c] of Object.entries(checks)) {
      metrics.dependencyUp.observe({ dependency, ok: String(c.ok) }, c.ms / 1000);
    }
    return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "degraded", service: "controller", checks });
  });

  app.get("/metrics", async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  if (deps.agentApi) registerAgentApi(app, deps.agentApi, deps.log);

  return app;
}
