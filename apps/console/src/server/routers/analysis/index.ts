import { router } from "../../trpc/init.ts";
import { flowDetail } from "./flow-detail.ts";
import { flows } from "./flows.ts";
import { l7 } from "./l7.ts";
import { metrics } from "./metrics.ts";
import { topology } from "./topology.ts";
import { trace } from "./trace.ts";

/** Telemetry analysis: every procedure needs telemetry.read and reads only ctx.org's rows. */
export const analysisRouter = router({ flows, l7, flowDetail, topology, trace, metrics });
