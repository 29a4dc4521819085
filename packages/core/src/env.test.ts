import { describe, expect, it } from "vitest";
import { z } from "zod";
import { EnvError, parseEnv } from "./env.ts";

describe("parseEnv", () => {
  const schema = z.object({ PORT: z.coerce.number().int().min(1).max(65535), SECRET: z.string().min(8) });

  it("returns typed values", () => {
    expect(parseEnv(schema, { PORT: "8080", SECRET: "abcdefgh" })).toEqual({ PORT: 8080, SECRET: "abcdefgh" });
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
