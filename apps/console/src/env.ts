import { envFields, loadEnvOrExit, parseEnv } from "@flowplane/core/env";
import { SecretsKey, ZSecretsEnv } from "@flowplane/db/clouds";
import { z } from "zod";

/**
 * The console's configuration. Read lazily (first request), never at import time, so that
 * `next build` needs none of these variables.
 */
export const consoleEnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  DATABASE_URL: envFields.postgresUrl(),
  CLICKHOUSE_URL: envFields.clickhouseUrl(),
  CLICKHOUSE_DATABASE: envFields.clickhouseDatabase(),
  // The start script generates and keeps a secret in development; the console only requires one.
  NEXTAUTH_SECRET: z.string().min(16, "expected a secret of at least 16 characters"),
  NEXTAUTH_URL: z.url({ error: "expected the console's public URL, e.g. http://localhost:3000" }).optional(),
  PORT: z.coerce.number().int().min(1).max(65_535).default(3000),
  // Where agents reach the controller: printed in the enrolment command. Default: this host, port 7120.
  FLOWPLANE_CONTROLLER_URL: z
    .url({ error: "expected the controller's URL, e.g. http://controller:7120" })
    .optional(),
  // Log one-time links (password reset) through the logger; on by default outside production.
  FLOWPLANE_LOG_LINKS: z.enum(["0", "1"]).optional(),
  // The controller's key: seals cloud-account credentials added here. Optional: only adding an
  // account with credentials needs it (checked then, see secretsKeySetting).
  FLOWPLANE_SECRETS_KEY: ZSecretsEnv.shape.FLOWPLANE_SECRETS_KEY.optional(),
});

export type ConsoleEnv = z.infer<typeof consoleEnvSchema>;

let cached: ConsoleEnv | undefined;

/** The validated environment; throws an EnvError whose one line names the bad variable. */
export function consoleEnv(): ConsoleEnv {
  cached ??= parseEnv(consoleEnvSchema, process.env);
  return cached;
}

/** Whether one-time links may be written to the log (no mailer exists yet). */
export function logLinks(): boolean {
  const env = parseEnv(consoleEnvSchema.pick({ NODE_ENV: true, FLOWPLANE_LOG_LINKS: true }), process.env);
  return env.FLOWPLANE_LOG_LINKS ? env.FLOWPLANE_LOG_LINKS === "1" : env.NODE_ENV !== "production";
}

/** Only FLOWPLANE_CONTROLLER_URL (procedures need it without the database settings). */
export function controllerUrlSetting(): string | undefined {
  return parseEnv(consoleEnvSchema.pick({ FLOWPLANE_CONTROLLER_URL: true }), process.env)
    .FLOWPLANE_CONTROLLER_URL;
}

/**
 * The key that seals cloud credentials, or undefined when FLOWPLANE_SECRETS_KEY is unset (only
 * adding an account with credentials needs it; a malformed one is an error naming the variable).
 */
export function secretsKeySetting(): SecretsKey | undefined {
  const b64 = parseEnv(
    consoleEnvSchema.pick({ FLOWPLANE_SECRETS_KEY: true }),
    process.env,
  ).FLOWPLANE_SECRETS_KEY;
  return b64 === undefined ? undefined : SecretsKey.fromBase64(b64);
}

/** Only the auth secret: the proxy needs it without requiring the database settings. */
export function authSecret(): string {
  return parseEnv(consoleEnvSchema.pick({ NEXTAUTH_SECRET: true }), process.env).NEXTAUTH_SECRET;
}

const OIDC_REQUIRED = ["OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"] as const;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
/** An empty variable counts as unset (`OIDC_ISSUER=` in a compose file means "off"). */
const unsetIfEmpty = (v: unknown) => (v === "" ? undefined : v);

/**
 * A generic OpenID Connect provider for sign-in: on when all three of issuer, client id and
 * secret are set, off when none is. Half a configuration is an error at start, naming what is
 * missing, rather than a sign-in button that fails later.
 */
export const oidcEnvSchema = z
  .object({
    OIDC_ISSUER: z.preprocess(
      unsetIfEmpty,
      z
        .url({
          protocol: /^https?$/,
          error: "expected the issuer URL, e.g. https://idp.example.com/realms/main",
        })
        // Runs even after a failed url check (zod 4 keeps going), hence canParse.
        .refine((u) => !URL.canParse(u) || u.startsWith("https:") || LOOPBACK.has(new URL(u).hostname), {
          error: "expected an https:// issuer (plain http only on loopback)",
        })
        .optional(),
    ),
    OIDC_CLIENT_ID: z.preprocess(unsetIfEmpty, z.string().max(500).optional()),
    OIDC_CLIENT_SECRET: z.preprocess(unsetIfEmpty, z.string().max(2000).optional()),
    // What the sign-in button says: "Sign in with <OIDC_NAME>".
    OIDC_NAME: z.preprocess(unsetIfEmpty, z.string().trim().min(1).max(40).default("single sign-on")),
  })
  .superRefine((env, ctx) => {
    const set = OIDC_REQUIRED.filter((k) => env[k] !== undefined);
    if (set.length === 0 || set.length === OIDC_REQUIRED.length) return;
    for (const k of OIDC_REQUIRED.filter((k) => env[k] === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [k],
        message: `missing while ${set.join(" and ")} ${set.length === 1 ? "is" : "are"} set (OIDC sign-in needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, or none of them)`,
      });
    }
  });

export type OidcSettings = { issuer: string; clientId: string; clientSecret: string; name: string };

/** The OIDC provider's settings, or null when OIDC sign-in is off. Read at run time, never at build. */
export function oidcSettings(): OidcSettings | null {
  const env = parseEnv(oidcEnvSchema, process.env);
  if (!env.OIDC_ISSUER || !env.OIDC_CLIENT_ID || !env.OIDC_CLIENT_SECRET) return null;
  return {
    issuer: env.OIDC_ISSUER,
    clientId: env.OIDC_CLIENT_ID,
    clientSecret: env.OIDC_CLIENT_SECRET,
    name: env.OIDC_NAME,
  };
}

/**
 * For the server's start (instrumentation.ts): every console variable, OIDC included. A bad one
 * prints one line naming it and exits before the console takes a request.
 */
export function checkEnvAtStart(): void {
  loadEnvOrExit(consoleEnvSchema);
  loadEnvOrExit(oidcEnvSchema);
}
