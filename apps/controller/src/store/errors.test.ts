import { describe, expect, it } from "vitest";
import { fromEngineError, storeError } from "./errors.ts";

describe("ClickHouse-shaped errors", () => {
  it("keeps the engine's code and text and maps the status", () => {
    const e = fromEngineError(new Error("Code: 60. DB::Exception: Unknown table 'x'. (UNKNOWN_TABLE)"));
    expect(e).toEqual({
      status: 404,
      code: 60,
      body: "Code: 60. DB::Exception: Unknown table 'x'. (UNKNOWN_TABLE)\n",
    });
    expect(fromEngineError(new Error("Code: 164. DB::Exception: readonly. (READONLY)")).status).toBe(403);
    expect(
      fromEngineError(new Error("Code: 241. DB::Exception: memory. (MEMORY_LIMIT_EXCEEDED)")).status,
    ).toBe(500);
  });

  it("drops text chDB puts before ClickHouse's message", () => {
    const e = fromEngineError(
      new Error("Failed to create connection for path '/x'Code: 76. DB::Exception: lock. (CANNOT_OPEN_FILE)"),
    );
    expect(e.code).toBe(76);
    expect(e.body.startsWith("Code: 76.")).toBe(true);
  });

  it("wraps errors without a code as ClickHouse's std::exception", () => {
    const e = fromEngineError(new Error("boom\nline two"));
    expect(e).toEqual({
      status: 500,
      code: 1001,
      body: "Code: 1001. DB::Exception: std::exception: boom line two. (STD_EXCEPTION)\n",
    });
    expect(storeError(413, 36, "too big", "BAD_ARGUMENTS").body).toBe(
      "Code: 36. DB::Exception: too big. (BAD_ARGUMENTS)\n",
    );
  });
});
