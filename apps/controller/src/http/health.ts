export type TCheck = { ok: boolean; ms: number; error?: string };
export type TProbe = () => Promise<unknown>;

/** Runs dependency probes concurrently, each bounded by a timeout, so a hung dependency reports as down. */
export async function runChecks(
  probes: Record<string, TProbe>,
  timeoutMs = 2000,
): Promise<{ ok: boolean; checks: Record<string, TCheck> }> {
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          probe(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { ok: true, ms: Math.round(performance.now() - started) }] as const;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        return [name, { ok: false, ms: Math.round(performance.now() - started), error }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checks = Object.fromEntries(entries);
  return { ok: entries.every(([, c]) => c.ok), checks };
}
