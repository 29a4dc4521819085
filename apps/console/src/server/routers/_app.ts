import { createCallerFactory, router } from "../trpc/init.ts";
import { agentsRouter } from "./agents/index.ts";
import { health } from "./health.ts";
import { orgRouter } from "./org/index.ts";

/** Routers by domain; one procedure per file under each domain folder. */
export const appRouter = router({
  health,
  org: orgRouter,
  agents: agentsRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
