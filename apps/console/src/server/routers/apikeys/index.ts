import { router } from "../../trpc/init.ts";
import { create } from "./create.ts";
import { list } from "./list.ts";
import { revoke } from "./revoke.ts";

export const apiKeysRouter = router({ list, create, revoke });
