import fc from "fast-check";
import { CLOSE_TYPES, TUNNEL_TYPES } from "../rows/index.ts";

/** Random L4 rows as the agent builds them (values the schema accepts), for the tests. */
const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
const v6 = fc.constantFrom("2001:db8::1", "fe80::2", "::1", "2001:db8:0:1:2:3:4:5", "64:ff9b::10.0.0.1");
const ip = fc.oneof({ weight: 4, arbitrary: v4 }, { weight: 1, arbitrary: v6 });
const u = (max: number) => fc.integer({ min: 0, max });
const counter = fc.oneof(u(1000), fc.maxSafeNat());

export const l4Row = fc.record({
  flow_id: fc.oneof(fc.bigInt({ min: 0n, max: 18446744073709551615n }).map(String), fc.nat()),
  report_seq: u(4294967295),
  is_final: fc.boolean(),
  start_time: fc.integer({ min: 1, max: 2 ** 41 }),
  end_time: fc.integer({ min: 1_000_000, max: 2 ** 52 }),
  client_ip: ip,
  client_port: u(65535),
  server_ip: ip,
  server_port: u(65535),
  ip_protocol: u(255),
  vlan: u(4095),
  tunnel_type: fc.constantFrom(...TUNNEL_TYPES),
  tunnel_id: u(4294967295),
  tunnel_outer_src: fc.oneof(fc.constant(""), ip),
  tunnel_outer_dst: fc.oneof(fc.constant(""), ip),
  packets_c2s: counter,
  packets_s2c: counter,
  bytes_c2s: counter,
  bytes_s2c: counter,
  close_type: fc.oneof(fc.constantFrom(...CLOSE_TYPES), fc.stringMatching(/^[a-z0-9_.-]{0,32}$/)),
  tcp_flags_c2s: u(65535),
  tcp_flags_s2c: u(65535),
  rtt_us: u(4294967295),
  rtt_client_us: u(4294967295),
  rtt_server_us: u(4294967295),
  srt_us: u(4294967295),
  syn_count: u(100),
  synack_count: u(100),
  retrans_c2s: u(4294967295),
  retrans_s2c: u(100),
  zero_win_c2s: u(100),
  zero_win_s2c: u(100),
  out_of_order_c2s: u(100),
  out_of_order_s2c: u(100),
  l7_protocol: fc.constantFrom("", "http", "tls", "dns", "mysql"),
  group_id: u(1000),
});

/** Rows of one batch: every key present (an agent's rows share a shape), up to `max` rows. */
export const l4Rows = (max: number) =>
  fc.array(
    l4Row.map((r) => r as Record<string, unknown>),
    { minLength: 1, maxLength: max },
  );
