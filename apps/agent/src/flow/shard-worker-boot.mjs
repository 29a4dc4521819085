// Worker bootstrap: registers tsx in this thread (module hooks are per thread on Node 20 unless
// inherited through execArgv), then loads the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./shard-worker.ts");
