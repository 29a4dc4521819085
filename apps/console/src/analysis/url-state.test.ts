import { describe, expect, it } from "vitest";
import { filterToParam, rangeMicros, readFilters, readRange, withParams } from "./url-state.ts";

describe("analysis URL state", () => {
  it("round-trips filters and ranges", () => {
    const sp = new URLSearchParams(
      "range=6h&f=server_port~eq~8080&f=client_ip~cidr~10.0.0.0/8&f=l7_protocol~in~http,mysql&f=bytes~range~1,100&f=bad~drop~1",
    );
    const filters = readFilters(sp);
    expect(filters).toEqual([
      { column: "server_port", op: "eq", value: 8080 },
      { column: "client_ip", op: "cidr", value: "10.0.0.0/8" },
      { column: "l7_protocol", op: "in", value: ["http", "mysql"] },
      { column: "bytes", op: "range", value: [1, 100] },
    ]);
    expect(filters.map(filterToParam)).toEqual(sp.getAll("f").slice(0, 4));
    expect(readRange(sp)).toEqual({ kind: "relative", range: "6h" });
    const abs = readRange(new URLSearchParams("from=2026-11-26T10:00:00Z&to=2026-11-26T11:00:00Z"));
    expect(rangeMicros(abs)).toEqual({
      from: Date.parse("2026-11-26T10:00:00Z") * 1000,
      to: Date.parse("2026-11-26T11:00:00Z") * 1000,
    });
    const rel = rangeMicros({ kind: "relative", range: "1h" }, 1_000_000_000_000);
    expect(rel.to - rel.from).toBe(3_600_000_000);
    expect(withParams(sp, { range: undefined, f: ["a~eq~1"] })).toBe("f=a%7Eeq%7E1");
  });
});
