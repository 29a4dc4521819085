import { router } from "../../trpc/init.ts";
import { list } from "./list.ts";
import { overview } from "./overview.ts";

export const orgRouter = router({ list, overview });
