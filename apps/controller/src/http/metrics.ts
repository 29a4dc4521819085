import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** The controller's own Prometheus metrics; one registry per server so tests stay independent. */
export function createMetrics() {
  const registry = new Registry();
  registry.setDefaultLabels({ service: "flowplane-controller" });
  collectDefaultMetrics({ register: registry, prefix: "flowplane_controller_" });
  const httpRequests = new Counter({
    name: "flowplane_controller_http_requests_total",
    help: "HTTP requests served, by route and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: "flowplane_controller_http_request_duration_seconds",
    help: "HTTP request latency, by route",
    labelNames: ["route"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const dependencyUp = new Histogram({
    name: "flowplane_controller_dependency_check_seconds",
    help: "Latency of dependency health checks",
    labelNames: ["dependency", "ok"] as const,
    buckets: [0.001, 0.01, 0.1, 1, 2],
    registers: [registry],
  });
  return { registry, httpRequests, httpDuration, dependencyUp };
}

export type TMetrics = ReturnType<typeof createMetrics>;
