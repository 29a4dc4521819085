import { router } from "../../trpc/init.ts";
import { changePassword } from "./change-password.ts";
import { me } from "./me.ts";
import { requestPasswordReset } from "./request-password-reset.ts";
import { resetPassword } from "./reset-password.ts";
import { signOutEverywhere } from "./sign-out-everywhere.ts";
import { signUp } from "./sign-up.ts";

export const accountRouter = router({
  me,
  signUp,
  requestPasswordReset,
  resetPassword,
  changePassword,
  signOutEverywhere,
});
