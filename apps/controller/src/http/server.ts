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
};

/** The controller's HTTP surface. Agent sync and ingest routes are registered here by later issues. */
export function buildControllerServer(deps: TControllerDeps): FastifyInstance {
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
