import type { NextConfig } from "next";

const config: NextConfig = {
  // Workspace packages export .ts/.tsx source (with .ts-extension relative imports): Next compiles them.
  transpilePackages: [
    "@flowplane/core",
    "@flowplane/db",
    "@flowplane/protocol",
    "@flowplane/query",
    "@flowplane/ui",
  ],
  // Native or driver packages stay plain Node requires at run time (pg, argon2, pino and
  // @prisma/client are already on Next's built-in list).
  serverExternalPackages: ["@prisma/adapter-pg", "@clickhouse/client", "bullmq", "ioredis"],
  poweredByHeader: false,
  reactStrictMode: true,
  // The console type-checks through `npm run typecheck`; the build should not need a second pass.
  typescript: { ignoreBuildErrors: false },
};

export default config;
