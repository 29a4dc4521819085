import { EnvError, parseEnv } from "@flowplane/core/env";
import { describe, expect, it } from "vitest";
import { consoleEnvSchema } from "./env.ts";

const good = {
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/flowplane",
  CLICKHOUSE_URL: "http://127.0.0.1:8123",
  NEXTAUTH_SECRET: "0123456789abcdef0123",
};

describe("console env", () => {
  it("applies defaults", () => {
    const env = parseEnv(consoleEnvSchema, good);
    expect(env.CLICKHOUSE_DATABASE).toBe("flowplane");
    expect(env.PORT).toBe(3000);
  });

  it("names the bad variable in one line without echoing its value", () => {
    const bad = { ...good, DATABASE_URL: "mysql://secret-host/db" };
    expect(() => parseEnv(consoleEnvSchema, bad)).toThrow(EnvError);
    try {
      parseEnv(consoleEnvSchema, bad);
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toMatch(/DATABASE_URL/);
      expect(message).not.toMatch(/secret-host/);
      expect(message.split("\n")).toHaveLength(1);
    }
  });

  it("requires NEXTAUTH_SECRET", () => {
    const { NEXTAUTH_SECRET: _, ...rest } = good;
    expect(() => parseEnv(consoleEnvSchema, rest)).toThrow(/NEXTAUTH_SECRET/);
  });
});
