import { router } from "../../trpc/init.ts";
import { create } from "./create.ts";
import { history } from "./history.ts";
import { list } from "./list.ts";
import { remove } from "./remove.ts";

/**
 * Cloud accounts and their resource model (issue 9, docs/autotagging.md): list and history with
 * cloud.read, create and remove with cloud.write.
 */
export const cloudsRouter = router({ list, history, create, remove });
