import { describe, expect, it } from "vitest";
import { z } from "zod";
import { EnvError, envFields, parseEnv } from "./env.ts";

describe("parseEnv", () => {
  const schema = z.object({ PORT: z.coerce.number().int().min(1).max(65535), SECRET: z.string().min(8) });

  it("returns typed values", () => {
    expect(parseEnv(schema, { PORT: "8080", SECRET: "abcdefgh" })).toEqual({
      PORT: 8080,
      SECRET: "abcdefgh",
    });
  });

  it("names the variable and never prints its value", () => {
    let message = "";
    try {
      parseEnv(schema, { PORT: "eighty", SECRET: "short-secret-value-x".slice(0, 3) });
    } catch (e) {
      expect(e).toBeInstanceOf(EnvError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/SECRET/);
    expect(message).not.toContain("eighty");
    expect(message).not.toContain("sho");
  });
});

describe("envFields", () => {
  const schema = z.object({
    DATABASE_URL: envFields.postgresUrl(),
    REDIS_URL: envFields.redisUrl(),
    CLICKHOUSE_URL: envFields.clickhouseUrl(),
    CLICKHOUSE_DATABASE: envFields.clickhouseDatabase(),
    PORT: envFields.port(7120),
  });

  it("fills local defaults and coerces the port", () => {
    expect(parseEnv(schema, { CLICKHOUSE_URL: "http://127.0.0.1:8123" })).toEqual({
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/flowplane",
      REDIS_URL: "redis://127.0.0.1:6379",
      CLICKHOUSE_URL: "http://127.0.0.1:8123",
      CLICKHOUSE_DATABASE: "flowplane",
      PORT: 7120,
    });
  });

  it("refuses a wrong scheme or an unsafe database name, naming the variable", () => {
    expect(() => parseEnv(schema, { CLICKHOUSE_URL: "http://x", DATABASE_URL: "mysql://h/db" })).toThrow(
      /DATABASE_URL: expected a postgres:\/\/ URL/,
    );
    expect(() => parseEnv(schema, { CLICKHOUSE_URL: "ftp://x" })).toThrow(/CLICKHOUSE_URL/);
    expect(() => parseEnv(schema, { CLICKHOUSE_URL: "http://x", CLICKHOUSE_DATABASE: "a;drop" })).toThrow(
      /CLICKHOUSE_DATABASE: expected a plain database name/,
    );
  });
});
