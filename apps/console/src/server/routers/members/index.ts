import { router } from "../../trpc/init.ts";
import { acceptInvitation } from "./accept-invitation.ts";
import { changeRole } from "./change-role.ts";
import { invitations } from "./invitations.ts";
import { invite } from "./invite.ts";
import { list } from "./list.ts";
import { remove } from "./remove.ts";
import { revokeInvitation } from "./revoke-invitation.ts";

export const membersRouter = router({
  list,
  invite,
  invitations,
  revokeInvitation,
  acceptInvitation,
  changeRole,
  remove,
});
