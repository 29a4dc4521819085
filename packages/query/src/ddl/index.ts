/** `@flowplane/query/ddl`: the versioned ClickHouse schema and its migrator. */
export {
  loadMigrations,
  type MigrateOptions,
  type MigrateResult,
  type Migration,
  migrateClickhouse,
} from "./migrate.ts";
export * from "./org-tables.ts";
export * from "./ttl.ts";
