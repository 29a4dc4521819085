import { describe, expect, it } from "vitest";
import {
  BadRequestError,
  insertFormatOf,
  outputFormatOf,
  parseSearchParams,
  quoteString,
  renderSetStatements,
} from "./http-request.ts";

describe("store request parsing", () => {
  it("splits parameters, settings and transport options", () => {
    const p = parseSearchParams(
      new URLSearchParams({
        query: "SELECT 1",
        database: "db1",
        default_format: "JSONEachRow",
        query_id: "q1",
        param_x: "a\\'b",
        max_rows_to_read: "10",
        enable_http_compression: "1",
        wait_end_of_query: "1",
        session_id: "s",
      }),
    );
    expect(p.urlQuery).toBe("SELECT 1");
    expect(p.database).toBe("db1");
    expect(p.defaultFormat).toBe("JSONEachRow");
    expect(p.queryId).toBe("q1");
    expect(p.params).toEqual({ x: "a\\'b" });
    expect([...p.settings]).toEqual([["max_rows_to_read", "10"]]);
  });

  it("refuses setting and parameter names that are not identifiers", () => {
    expect(() => parseSearchParams(new URLSearchParams({ "max_threads; DROP": "1" }))).toThrow(
      BadRequestError,
    );
    expect(() => parseSearchParams(new URLSearchParams({ "param_a-b": "1" }))).toThrow(BadRequestError);
  });

  it("renders settings as literals, readonly last", () => {
    const sets = renderSetStatements(
      new Map([
        ["readonly", "1"],
        ["max_threads", "2"],
        ["format_csv_delimiter", "';\\"],
      ]),
    );
    expect(sets).toEqual(["SET max_threads = 2, format_csv_delimiter = '\\';\\\\', readonly = 1"]);
    expect(renderSetStatements(new Map())).toEqual([]);
    expect(quoteString("it's")).toBe("'it\\'s'");
  });

  it("recognises inserts with data in the body and output formats", () => {
    expect(insertFormatOf("INSERT INTO t (a, b) FORMAT JSONEachRow")).toBe("JSONEachRow");
    expect(insertFormatOf("INSERT INTO t SELECT 1")).toBeUndefined();
    expect(outputFormatOf("SELECT 1 FORMAT JSON", "TabSeparated")).toBe("JSON");
    expect(outputFormatOf("SELECT 1", "TabSeparated")).toBe("TabSeparated");
  });
});
