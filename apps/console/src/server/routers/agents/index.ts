import { router } from "../../trpc/init.ts";
import { deleteAgent } from "./delete.ts";
import { get } from "./get.ts";
import { list } from "./list.ts";
import { move } from "./move.ts";
import { setDisabled } from "./set-disabled.ts";

export const agentsRouter = router({ list, get, move, setDisabled, delete: deleteAgent });
