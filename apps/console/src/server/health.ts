import { z } from "zod";

export const checkResult = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
export const healthReport = z.object({
  status: z.enum(["ok", "failing"]),
  checks: z.record(z.string(), checkResult),
});
export type HealthReport = z.infer<typeof healthReport>;

type Probe = () => Promise<unknown>;

const TIMEOUT_MS = 3000;

async function timed(probe: Probe): Promise<z.infer<typeof checkResult>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    });
    await Promise.race([probe(), timeout]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    // First line only: driver errors can be long, and the report is public.
    const error = (err instanceof Error ? err.message : String(err)).split("\n")[0]?.slice(0, 200);
    return { ok: false, ms: Math.round(performance.now() - started), error };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every probe in parallel; the report is "ok" only when all of them are. */
export async function runHealthChecks(probes: Record<string, Probe>): Promise<HealthReport> {
  const names = Object.keys(probes);
  const results = await Promise.all(names.map((name) => timed(probes[name] as Probe)));
  const checks = Object.fromEntries(
    names.map((name, i) => [name, results[i] as z.infer<typeof checkResult>]),
  );
  return { status: results.every((r) => r.ok) ? "ok" : "failing", checks };
}

/** `@clickhouse/client`'s ping resolves `{ success: false }` instead of throwing. */
export async function pingClickhouse(client: { ping(): Promise<unknown> }): Promise<void> {
  const result = (await client.ping()) as { success?: boolean; error?: unknown } | undefined;
  if (result && result.success === false) {
    throw result.error instanceof Error ? result.error : new Error("ClickHouse ping failed");
  }
}
