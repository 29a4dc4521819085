import { TRPCError } from "@trpc/server";
import type { Db } from "../db.ts";
import { createContext } from "../trpc/context.ts";
import { createCaller } from "./_app.ts";

/** The app router called as a signed-in user (session version 0, as seeded users have). */
export async function callerAs(db: Db, userId: string) {
  return createCaller(await createContext({ db, claims: { userId, sessionVersion: 0 } }));
}

/** How a call ended: "OK", the TRPCError code, or what else it threw (a bug, named as such). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "OK";
  } catch (err) {
    return err instanceof TRPCError ? err.code : `not a TRPCError: ${String(err)}`;
  }
}
