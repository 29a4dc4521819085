/**
 * Captures of real clients against the servers running on these machines (../captures: curl,
 * dig, redis-cli, psql, mysql, mosquitto_pub, NATS; ./captures: an AMQP client against
 * RabbitMQ), compared with tshark run live on the same file where tshark has a dissector, and
 * with what the recording script did where it has none (NATS).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MQTT_TYPES } from "../../src/l7/protocols/mqtt.ts";
import { MYSQL_COMMANDS } from "../../src/l7/protocols/mysql.ts";
import { capturesDir } from "../captures/index.ts";
import { hasRequest, hasResponse, ofProto, tally } from "./counts.ts";
import { driveCapture } from "./driver.ts";
import { tsharkFields, tsharkHttpAtHeaders } from "./tshark-l7.ts";

const rec = (f: string) => join(capturesDir, f);
const mine = (f: string) => join(import.meta.dirname, "captures", f);

/** Splits tshark's aggregated occurrences and counts them. */
function countValues(lines: string[][], col = 0): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines)
    for (const v of (l[col] ?? "").split(",").filter(Boolean)) out[v] = (out[v] ?? 0) + 1;
  return out;
}

describe("L7 rows on recorded captures of real clients", () => {
  it("http-curl.pcap: requests by method and responses by status as tshark", () => {
    const { rows } = driveCapture(rec("http-curl.pcap"));
    const ts = tsharkHttpAtHeaders(rec("http-curl.pcap"));
    expect(tally(rows.filter(hasRequest), (r) => r.request_type)).toEqual(ts.byMethod);
    expect(tally(rows.filter(hasResponse), (r) => String(r.response_code))).toEqual(ts.byStatus);
    // The ~80 KB body passes without buffering and is counted in the response length.
    expect(Math.max(...rows.map((r) => r.response_length))).toBeGreaterThan(80_000);
  });

  it("dns-dig.pcap: queries and responses by rcode as tshark (UDP and TCP, private port)", () => {
    const { rows } = driveCapture(rec("dns-dig.pcap"));
    const lines = tsharkFields(
      rec("dns-dig.pcap"),
      "dns",
      ["dns.flags.response", "dns.flags.rcode"],
      ["-d", "udp.port==15353,dns", "-d", "tcp.port==15353,dns"],
    );
    const queries = lines.filter((l) => l[0] === "0" || l[0] === "False").length;
    const byRcode = countValues(
      lines.filter((l) => l[0] === "1" || l[0] === "True"),
      1,
    );
    expect(rows.filter(hasRequest).length).toBe(queries);
    expect(tally(rows.filter(hasResponse), (r) => String(r.response_code))).toEqual(byRcode);
  });

  it("mysql-client.pcap: commands and error codes as tshark (MariaDB)", () => {
    const { rows } = driveCapture(rec("mysql-client.pcap"));
    const lines = tsharkFields(rec("mysql-client.pcap"), "mysql", ["mysql.command", "mysql.error_code"]);
    const cmds: Record<string, number> = {};
    for (const [c, n] of Object.entries(countValues(lines, 0))) cmds[MYSQL_COMMANDS[Number(c)] ?? c] = n;
    expect(tally(rows, (r) => (r.request_type !== "Login" ? r.request_type : undefined))).toEqual(cmds);
    expect(
      rows.filter((r) => r.response_status.endsWith("error")).map((r) => String(r.response_code)),
    ).toEqual(Object.keys(countValues(lines, 1)));
    // Literals never reach a row.
    expect(rows.some((r) => r.request_resource.includes("flowplane-rec"))).toBe(false);
  });

  it("pgsql-psql.pcap: simple queries, errors and ReadyForQuery as tshark", () => {
    const { rows } = driveCapture(rec("pgsql-psql.pcap"));
    const t = countValues(tsharkFields(rec("pgsql-psql.pcap"), "pgsql", ["pgsql.type"]));
    expect(rows.filter((r) => r.request_type === "Query").length).toBe(t["Simple query"]);
    expect(rows.filter((r) => r.response_status.endsWith("error")).length).toBe(t.Error ?? 0);
    expect(rows.filter(hasResponse).length).toBe(t["Ready for query"]);
    expect(rows.find((r) => r.response_status === "client_error")?.response_exception).toMatch(/^42P01 /);
  });

  it("mqtt-mosquitto.pcap: message types as tshark", () => {
    const { rows } = driveCapture(rec("mqtt-mosquitto.pcap"));
    const t = countValues(tsharkFields(rec("mqtt-mosquitto.pcap"), "mqtt", ["mqtt.msgtype"]));
    const byName = Object.fromEntries(Object.entries(t).map(([k, v]) => [MQTT_TYPES[Number(k)]!, v]));
    const reqTypes = ["CONNECT", "PUBLISH", "SUBSCRIBE", "UNSUBSCRIBE", "PINGREQ", "PUBREL", "DISCONNECT"];
    expect(tally(rows, (r) => r.request_type)).toEqual(
      Object.fromEntries(Object.entries(byName).filter(([k]) => reqTypes.includes(k))),
    );
    const resp = Object.entries(byName)
      .filter(([k]) => !reqTypes.includes(k))
      .reduce((s, [, v]) => s + v, 0);
    expect(rows.filter(hasResponse).length).toBe(resp);
  });

  it("redis-cli.pcap: every command of the recording, the WRONGTYPE error, inline --pipe commands", () => {
    const { rows } = driveCapture(rec("redis-cli.pcap"));
    expect(rows.map((r) => r.request_type)).toEqual([
      "PING",
      "SET",
      "GET",
      "GET",
      "INCR",
      "LPUSH",
      "LRANGE",
      "HGETALL",
      "DEL",
      "ECHO",
    ]);
    expect(
      rows.filter((r) => r.response_status === "client_error").map((r) => r.response_exception.split(" ")[0]),
    ).toEqual(["WRONGTYPE"]);
    expect(rows.every(hasResponse)).toBe(true);
    // tshark's RESP frames agree where one frame holds one message (the four single-command sessions).
    const frames = tsharkFields(
      rec("redis-cli.pcap"),
      "resp && tcp.dstport==16379",
      ["tcp.stream"],
      ["-d", "tcp.port==16379,resp"],
    );
    expect(frames.length).toBeGreaterThanOrEqual(5);
  });

  it("nats-bash.pcap: CONNECT, SUB, PUB, MSG as one-way rows, PING answered by PONG, INFO not a row", () => {
    const { rows } = driveCapture(rec("nats-bash.pcap"));
    expect(rows.map((r) => r.request_type)).toEqual(["CONNECT", "SUB", "PUB", "MSG", "PING"]);
    expect(rows.find((r) => r.request_type === "PUB")?.request_domain).toBe("flowplane-rec.t");
    expect(rows.find((r) => r.request_type === "PING")?.response_status).toBe("ok");
  });

  it("amqp-rabbitmq.pcap: every method frame tshark sees is a request or an answer in a row", () => {
    const { rows } = driveCapture(mine("amqp-rabbitmq.pcap"));
    const lines = tsharkFields(mine("amqp-rabbitmq.pcap"), "amqp", ["amqp.method.method"]);
    const methods = Object.values(countValues(lines)).reduce((a, b) => a + b, 0);
    const answers = rows.filter((r) => hasResponse(r) && r.response_code === 0).length;
    expect(rows.length + answers).toBe(methods);
    const missing = rows.find((r) => r.request_resource === "flowplane-rec.missing");
    expect(missing?.response_status).toBe("client_error");
    expect(missing?.response_code).toBe(404);
    expect(rows.find((r) => r.request_type === "basic.publish")?.request_resource).toBe("flowplane-rec.q");
  });
});
