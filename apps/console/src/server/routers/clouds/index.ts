import { router } from "../../trpc/init.ts";
import { history } from "./history.ts";
import { list } from "./list.ts";

/** Cloud accounts and their resource model (issue 9, docs/autotagging.md): cloud.read, read-only. */
export const cloudsRouter = router({ list, history });
