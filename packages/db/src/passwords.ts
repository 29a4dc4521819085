import { type Algorithm, hash, verify } from "@node-rs/argon2";

// OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): ~20 ms per hash on these machines.
// `Algorithm` is an ambient const enum, so its value is written out (2 = Argon2id).
const OPTIONS = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), salted per call. */
export async function hashPassword(plain: string): Promise<string> {
  if (plain.length === 0) throw new Error("refusing to hash an empty password");
  return hash(plain, OPTIONS);
}

/** True when `plain` matches `hash`; false (never a throw) for a wrong password or a malformed hash. */
export async function verifyPassword(hashed: string | null | undefined, plain: string): Promise<boolean> {
  if (!hashed || !plain) return false;
  try {
    return await verify(hashed, plain);
  } catch {
    return false;
  }
}
