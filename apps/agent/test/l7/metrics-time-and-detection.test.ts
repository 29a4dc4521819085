/**
 * Application metrics count a row in the second of its own end time (a late timeout becomes a
 * correction row for its second), and detection does not take Redis's inline PING for NATS.
 */
import { describe, expect, it } from "vitest";
import { harness } from "./harness.ts";

const T0 = 1_800_000_000_000_000;

describe("application metrics: the second of the row's own end time", () => {
  it("a timeout found late counts in the second of its end, as a correction row when that second was flushed", () => {
    const h = harness({ requestTimeoutUs: 1_000_000 });
    // Flow 0: a request that is never answered, then more payload on its flow at T0 + 1.4 s
    // (its end: the flow's last payload, capped at request + timeout = T0 + 1.2 s).
    h.send(0, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n", { ts: T0 + 200_000, slot: 0 });
    h.send(0, "", { ts: T0 + 1_400_000, slot: 0 });
    // Flow 1: traffic that moves the processor's clock to second T0+3 s before any tick.
    h.send(0, "GET /fast HTTP/1.1\r\nHost: h\r\n\r\n", { ts: T0 + 3_100_000, slot: 1 });
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", { ts: T0 + 3_100_500, slot: 1 });
    // The processor is at second T0+3 s; the timeout is found only now.
    h.l7.tick(T0 + 3_200_000);
    const timeoutRow = h.rows.find((r) => r.response_status === "timeout")!;
    expect(timeoutRow.end_time).toBe(T0 + 1_200_000);
    h.l7.flush(T0 + 5_000_000);
    const slow = h.metrics.filter((m) => m.endpoint === "/slow");
    expect(slow.map((m) => [m.time, m.requests, m.timeouts])).toEqual([[T0 + 1_000_000, 1, 1]]);
    const fast = h.metrics.filter((m) => m.endpoint === "/fast");
    expect(fast.map((m) => [m.time, m.requests])).toEqual([[T0 + 3_000_000, 1]]);
  });

  it("a row for a second already flushed is emitted again for that second (summed downstream), never in the current one", () => {
    const h = harness({ requestTimeoutUs: 500_000 });
    h.send(0, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", { ts: T0 + 100_000, slot: 0 });
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", { ts: T0 + 150_000, slot: 0 });
    h.send(0, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", { ts: T0 + 300_000, slot: 0 });
    // A row of second T0+1 s (another flow) flushes second T0 before any tick found the timeout.
    h.send(0, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n", { ts: T0 + 1_100_000, slot: 1 });
    h.send(1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", { ts: T0 + 1_100_100, slot: 1 });
    expect(h.metrics.map((m) => [m.time, m.endpoint, m.requests, m.timeouts])).toEqual([[T0, "/a", 1, 0]]);
    // The second /a times out at T0 + 0.8 s: found now, it is a correction row for second T0.
    h.l7.tick(T0 + 1_200_000);
    h.l7.flush(T0 + 1_300_000);
    expect(h.metrics.slice(1).map((m) => [m.time, m.endpoint, m.requests, m.timeouts])).toEqual([
      [T0, "/a", 1, 1],
      [T0 + 1_000_000, "/b", 1, 0],
    ]);
    // Summed by key and second downstream, second T0 holds both requests of /a.
    const a = h.metrics.filter((m) => m.endpoint === "/a" && m.time === T0);
    expect(a.reduce((s, m) => s + m.requests, 0)).toBe(2);
  });
});

describe("detection: bare PING", () => {
  it("an inline PING on a non-NATS port is Redis (its +PONG pairs), not NATS", () => {
    const h = harness({ serverPort: 16380 });
    for (let i = 0; i < 5; i++) {
      h.send(0, "PING\r\n");
      h.send(1, "+PONG\r\n");
    }
    h.l7.flush(h.now);
    expect(h.rows.map((r) => r.l7_protocol)).toEqual(Array(5).fill("redis"));
    expect(h.rows.every((r) => r.response_status === "ok" && r.request_type === "PING")).toBe(true);
  });

  it("a bare PING on the NATS port is NATS; NATS's PONG (no '+') is recognised from the server side", () => {
    const h = harness({ serverPort: 4222 });
    h.send(0, "PING\r\n");
    h.send(1, "PONG\r\n");
    h.l7.flush(h.now);
    expect(h.rows.map((r) => [r.l7_protocol, r.request_type, r.response_status])).toEqual([
      ["nats", "PING", "ok"],
    ]);
    const g = harness({ serverPort: 23456 });
    g.send(1, "PONG\r\n");
    g.send(0, "PING\r\n");
    g.send(1, "PONG\r\n");
    expect(g.l7.protocolOf(0)).toBe("nats");
  });

  it("a direction that never parses again is given up even while the other direction keeps parsing", () => {
    const h = harness({ serverPort: 16380 });
    h.send(0, "PING\r\n");
    for (let i = 0; i < 100; i++) {
      h.send(1, `@not resp ${i}\r\n`);
      h.send(0, "PING\r\n");
    }
    expect(h.l7.stats().flowsFailed).toBe(1);
  });
});
