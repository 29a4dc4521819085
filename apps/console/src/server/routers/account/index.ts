import { router } from "../../trpc/init.ts";
import { changePassword } from "./change-password.ts";
import { me } from "./me.ts";
import { requestPasswordReset } from "./request-password-reset.ts";
import { resetPassword } from "./reset-password.ts";
import { signOutEverywhere } from "./sign-out-everywhere.ts";
import { signUp } from "./sign-up.ts";
import { totpBegin } from "./totp-begin.ts";
import { totpConfirm } from "./totp-confirm.ts";
import { totpDisable } from "./totp-disable.ts";

export const accountRouter = router({
  me,
  signUp,
  requestPasswordReset,
  resetPassword,
  changePassword,
  signOutEverywhere,
  totpBegin,
  totpConfirm,
  totpDisable,
});
