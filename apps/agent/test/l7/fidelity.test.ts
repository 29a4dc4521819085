/**
 * Fidelity against tshark: every shared capture with an L7 protocol tshark dissects (counts in
 * ../shared/pcaps/reference.json, written by tshark 4.0) is fed through the L7 processor and
 * the counts that mean the same are compared: requests by method/command/api, responses by
 * status/rcode, error codes, handshakes and SNI. tshark counts messages (and for Redis,
 * frames); rows pair them, so each side is derived from the rows. Differences that are right
 * by design are listed per file with the reason (docs/l7-fidelity.md explains them).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { describe, expect, it } from "vitest";
import { MYSQL_COMMANDS } from "../../src/l7/protocols/mysql.ts";
import { hasRequest, hasResponse, ofProto, tally } from "./counts.ts";
import { driveCapture } from "./driver.ts";
import { tsharkHttpAtHeaders } from "./tshark-l7.ts";

// biome-ignore lint/suspicious/noExplicitAny: reference.json is tshark's free-form summary
type Ref = Record<string, any>;
const dir = sharedPcapsDir();
const reference = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as Record<string, Ref>;
const L7_KEYS = ["http", "http2", "dns", "tls", "mysql", "pgsql", "redis", "kafka", "mqtt", "dubbo"];
const files = Object.keys(reference).filter((f) => L7_KEYS.some((k) => reference[f]![k]));

/** Differences that are right by design, per file, with the reason. */
const KNOWN: Record<
  string,
  {
    why: string;
    dnsQueriesInIcmp?: number;
    httpRequestsExtra?: Record<string, number>;
    redisResponsesExtra?: number;
  }
> = {
  "gre-sample.pcap": {
    why: "2 of tshark's 4 DNS queries are the query quoted inside ICMP port-unreachable errors, not messages on a flow",
    dnsQueriesInIcmp: 2,
  },
  "erspan-vlan-http-tls.pcap": {
    why: "2 POSTs whose first segment arrives after the second (out of order at flow start): tshark 4.0 never reassembles their headers; the rows are right",
    httpRequestsExtra: { POST: 2 },
  },
  "redis-pubsub-loopback.pcap": {
    why: "tshark counts RESP frames; one frame carries two pushed pub/sub messages, which are two rows",
    redisResponsesExtra: 1,
  },
};

describe("L7 rows agree with tshark on the shared captures", () => {
  it("covers every shared capture that carries an L7 protocol", () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
  });

  for (const file of files) {
    it(file, () => {
      const ref = reference[file]!;
      const { rows, stats } = driveCapture(join(dir, file));
      const known = KNOWN[file] ?? { why: "" };
      expect(stats.flowsFailed).toBe(0);

      if (ref.http) {
        const h = ofProto(rows, "http");
        const byMethod = tally(h, (r) => (hasRequest(r) ? r.request_type : undefined));
        const byStatus = tally(h, (r) => (hasResponse(r) ? String(r.response_code) : undefined));
        // Counted at the headers on both sides (see tsharkHttpAtHeaders).
        const ts = tsharkHttpAtHeaders(join(dir, file));
        for (const [m, n] of Object.entries(known.httpRequestsExtra ?? {}))
          ts.byMethod[m] = (ts.byMethod[m] ?? 0) + n;
        expect(byMethod).toEqual(ts.byMethod);
        expect(byStatus).toEqual(ts.byStatus);
        // Never fewer than tshark's default (whole-message) counts.
        for (const [m, n] of Object.entries(ref.http.requests_by_method as Record<string, number>))
          expect(byMethod[m] ?? 0).toBeGreaterThanOrEqual(n);
      }
      if (ref.http2) {
        const h = ofProto(rows, "http2", "grpc");
        expect(tally(h, (r) => (hasRequest(r) ? r.request_type : undefined))).toEqual(
          ref.http2.requests_by_method,
        );
        expect(h.filter(hasResponse).length).toBe(ref.http2.responses);
        // gRPC rows carry grpc-status as the code; plain HTTP/2 rows the :status.
        const plain = h.filter((r) => r.l7_protocol === "http2" && hasResponse(r));
        if (plain.length === h.length)
          expect(tally(plain, (r) => String(r.response_code))).toEqual(ref.http2.responses_by_status);
      }
      if (ref.dns) {
        const d = ofProto(rows, "dns");
        expect(d.filter(hasRequest).length).toBe(ref.dns.queries - (known.dnsQueriesInIcmp ?? 0));
        expect(d.filter(hasResponse).length).toBe(ref.dns.responses);
        expect(tally(d.filter(hasResponse), (r) => String(r.response_code))).toEqual(
          ref.dns.responses_by_rcode,
        );
      }
      if (ref.tls) {
        const t = ofProto(rows, "tls");
        expect(t.filter((r) => r.request_type === "ClientHello").length).toBe(ref.tls.client_hello);
        expect(t.filter((r) => hasResponse(r) && r.response_status === "ok").length).toBe(
          ref.tls.handshake_messages_by_type["2"] ?? 0,
        );
        expect(
          t
            .map((r) => r.request_domain)
            .filter((s) => s)
            .sort(),
        ).toEqual([...ref.tls.sni].sort());
      }
      if (ref.mysql) {
        const m = ofProto(rows, "mysql");
        const cmds = tally(m, (r) =>
          r.request_type && r.request_type !== "Login" ? r.request_type : undefined,
        );
        expect(cmds).toEqual(ref.mysql.requests_by_command);
        const errs = m.filter((r) => r.response_status.endsWith("error")).map((r) => String(r.response_code));
        expect(errs.sort()).toEqual([...ref.mysql.error_codes].sort());
        expect(errs.length).toBe(ref.mysql.response_codes["0xff"] ?? 0);
        expect(Object.values(MYSQL_COMMANDS)).toContain("Query");
      }
      if (ref.pgsql) {
        const p = ofProto(rows, "postgresql");
        const fe = ref.pgsql.frontend_by_type as Record<string, number>;
        expect(p.filter((r) => r.request_type === "Query").length).toBe(fe["Simple query"] ?? 0);
        expect(p.filter((r) => r.request_type === "Startup").length).toBe(fe["Startup message"] ?? 0);
        expect(p.filter((r) => r.request_type === "Terminate").length).toBe(fe.Termination ?? 0);
        // Every ReadyForQuery answers one request (login or query).
        const be = ref.pgsql.backend_by_type as Record<string, number>;
        expect(p.filter(hasResponse).length).toBe(be["Ready for query"] ?? 0);
        expect(p.filter((r) => r.response_status.endsWith("error")).length).toBe(be.Error ?? 0);
      }
      if (ref.redis) {
        const r = ofProto(rows, "redis");
        expect(r.filter(hasRequest).length).toBe(ref.redis.request_frames);
        expect(r.filter(hasResponse).length).toBe(
          ref.redis.response_frames + (known.redisResponsesExtra ?? 0),
        );
      }
      if (ref.kafka) {
        const k = ofProto(rows, "kafka");
        expect(tally(k, (r) => (hasRequest(r) ? r.request_type : undefined))).toEqual(
          ref.kafka.requests_by_api_key,
        );
        expect(k.filter(hasResponse).length).toBe(ref.kafka.response_frames);
      }
      if (ref.mqtt) {
        const q = ofProto(rows, "mqtt");
        const types = ref.mqtt.messages_by_type as Record<string, number>;
        const reqTypes = [
          "CONNECT",
          "PUBLISH",
          "SUBSCRIBE",
          "UNSUBSCRIBE",
          "PINGREQ",
          "PUBREL",
          "DISCONNECT",
          "AUTH",
        ];
        const want = Object.fromEntries(Object.entries(types).filter(([k]) => reqTypes.includes(k)));
        expect(tally(q, (r) => (hasRequest(r) || r.request_type ? r.request_type : undefined))).toEqual(want);
        const respTypes = ["CONNACK", "SUBACK", "UNSUBACK", "PINGRESP", "PUBACK", "PUBREC", "PUBCOMP"];
        const wantResp = respTypes.reduce((s, t) => s + (types[t] ?? 0), 0);
        expect(q.filter(hasResponse).length).toBe(wantResp);
      }
      if (ref.dubbo) {
        const d = ofProto(rows, "dubbo");
        expect(d.filter(hasRequest).length).toBe(ref.dubbo.requests);
        expect(d.filter(hasResponse).length).toBe(ref.dubbo.responses);
      }
    });
  }
});
