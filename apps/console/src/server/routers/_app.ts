import { createCallerFactory, router } from "../trpc/init.ts";
import { accountRouter } from "./account/index.ts";
import { agentsRouter } from "./agents/index.ts";
import { analysisRouter } from "./analysis/index.ts";
import { apiKeysRouter } from "./apikeys/index.ts";
import { auditRouter } from "./audit/index.ts";
import { cloudsRouter } from "./clouds/index.ts";
import { dataNodesRouter } from "./datanodes/index.ts";
import { enrollmentRouter } from "./enrollment/index.ts";
import { groupsRouter } from "./groups/index.ts";
import { health } from "./health.ts";
import { membersRouter } from "./members/index.ts";
import { npbRouter } from "./npb/index.ts";
import { orgRouter } from "./org/index.ts";

/** Routers by domain; one procedure per file under each domain folder. */
export const appRouter = router({
  health,
  account: accountRouter,
  org: orgRouter,
  members: membersRouter,
  apiKeys: apiKeysRouter,
  audit: auditRouter,
  agents: agentsRouter,
  groups: groupsRouter,
  dataNodes: dataNodesRouter,
  enrollment: enrollmentRouter,
  analysis: analysisRouter,
  npb: npbRouter,
  clouds: cloudsRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
