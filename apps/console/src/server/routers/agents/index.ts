import { router } from "../../trpc/init.ts";
import { deleteAgent } from "./delete.ts";
import { get } from "./get.ts";
import { health } from "./health.ts";
import { list } from "./list.ts";
import { move } from "./move.ts";
import { setArchived } from "./set-archived.ts";
import { setDisabled } from "./set-disabled.ts";

export const agentsRouter = router({
  list,
  get,
  health,
  move,
  setDisabled,
  setArchived,
  delete: deleteAgent,
});
