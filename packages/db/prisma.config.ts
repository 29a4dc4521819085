import { defineConfig } from "prisma/config";

// Prisma 7 reads the schema location from here. Only `prisma generate` runs in this project
// (migrations are our own SQL and runner, see src/migrate.ts), so no datasource URL is needed.
export default defineConfig({
  schema: "prisma/schema",
});
