import { router } from "../../trpc/init.ts";
import { create } from "./create.ts";
import { deleteOrg } from "./delete.ts";
import { exportConfig } from "./export.ts";
import { list } from "./list.ts";
import { overview } from "./overview.ts";
import { rename } from "./rename.ts";

export const orgRouter = router({ list, overview, create, rename, delete: deleteOrg, export: exportConfig });
