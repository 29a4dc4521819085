import { TRPCError } from "@trpc/server";
import { notFound } from "next/navigation";
import { cache } from "react";
import { currentClaims } from "./auth/current-user.ts";
import { appDb } from "./db.ts";
import { createCaller } from "./routers/_app.ts";
import { createContext } from "./trpc/context.ts";

/** The tRPC router called in-process from server components, as the signed-in user. */
export const serverCaller = cache(async () => {
  return createCaller(await createContext({ db: appDb(), claims: await currentClaims() }));
});

/** Awaits a procedure call; a NOT_FOUND becomes the page's 404. */
export async function orNotFound<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof TRPCError && err.code === "NOT_FOUND") notFound();
    throw err;
  }
}
