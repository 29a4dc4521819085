import { router } from "../../trpc/init.ts";
import { create } from "./create.ts";
import { detail } from "./detail.ts";
import { history } from "./history.ts";
import { list } from "./list.ts";
import { remove } from "./remove.ts";
import { syncNow } from "./sync.ts";
import { update } from "./update.ts";

/**
 * Cloud accounts and their resource model (issue 9, docs/autotagging.md): list and history with
 * cloud.read; create, detail (the edit form's settings), update, syncNow and remove with cloud.write.
 */
export const cloudsRouter = router({ list, history, create, detail, update, syncNow, remove });
