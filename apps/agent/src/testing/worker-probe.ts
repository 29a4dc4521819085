import { Worker } from "node:worker_threads";

const path = process.argv[2]!;
const count = Number(process.argv[3] ?? 2);
const t0 = performance.now();
await Promise.all(
  Array.from(
    { length: count },
    (_, index) =>
      new Promise<void>((res) => {
        const w = new Worker(new URL("../flow/shard-worker-boot.mjs", import.meta.url), {
          workerData: { path, index, count, engine: { maxFlows: 1000000 } },
        });
        w.on("message", (m) => {
          if (m.type === "done")
            console.log(
              "worker",
              index,
              "elapsed",
              Math.round(m.elapsedMs),
              "ms at",
              Math.round(performance.now() - t0),
            );
        });
        w.on("exit", () => res());
      }),
  ),
);
console.log("total", Math.round(performance.now() - t0));
