import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import Provider from "oidc-provider";

/** A person known to the test IdP: they sign in at its login form with `login` (any password). */
export type IdpUser = { login: string; email?: string; emailVerified?: boolean; name?: string };

export type RunningIdp = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  stop: () => Promise<void>;
};

/**
 * A real OpenID Provider (`oidc-provider`) on loopback with one confidential client whose
 * redirect URI is the console's next-auth callback. Its development login and consent pages are
 * what a browser walks through; `findAccount` answers the users given here, so the console sees
 * genuine discovery, signed id tokens, PKCE and a userinfo endpoint.
 */
export async function startIdp(opts: {
  port: number;
  consoleUrl: string;
  users: IdpUser[];
}): Promise<RunningIdp> {
  const issuer = `http://127.0.0.1:${opts.port}`;
  const clientId = "flowplane-console-e2e";
  const clientSecret = randomBytes(24).toString("hex");
  const users = new Map(opts.users.map((u) => [u.login, u]));
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [`${opts.consoleUrl}/api/auth/callback/oidc`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    cookies: { keys: [randomBytes(16).toString("hex")] },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const user = users.get(id);
      if (!user) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            ...(user.email ? { email: user.email, email_verified: user.emailVerified ?? false } : {}),
            ...(user.name ? { name: user.name } : {}),
          };
        },
      };
    },
  });
  const server: Server = await new Promise((ok, fail) => {
    const s = provider.listen(opts.port, "127.0.0.1", () => ok(s));
    s.once("error", fail);
  });
  return {
    issuer,
    clientId,
    clientSecret,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
