/**
 * Next calls `register` once as the server starts (`next start`, `next dev`), before the first
 * request: a bad configuration stops the console there instead of failing a sign-in later.
 */
export async function register(): Promise<void> {
  // The proxy may load this module in another runtime; the check belongs to the Node server.
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { checkEnvAtStart } = await import("./env.ts");
  checkEnvAtStart();
}
