import { router } from "../../trpc/init.ts";
import { counters } from "./counters.ts";
import { list } from "./list.ts";
import { remove } from "./remove.ts";
import { save } from "./save.ts";

/** Packet-broker policies (issue 8, docs/packet-broker.md): policies.read / policies.write. */
export const npbRouter = router({ list, save, remove, counters });
