import { router } from "../../trpc/init.ts";
import { create } from "./create.ts";
import { diff } from "./diff.ts";
import { get } from "./get.ts";
import { list } from "./list.ts";
import { rollback } from "./rollback.ts";
import { rollout } from "./rollout.ts";
import { saveConfig } from "./save-config.ts";
import { setRollout } from "./set-rollout.ts";

export const groupsRouter = router({ list, create, get, saveConfig, diff, rollback, rollout, setRollout });
