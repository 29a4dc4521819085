import type { Column } from "../rows/columns.ts";
import type { RowTable } from "../rows/table.ts";
import { fieldKind, OWNER_COLUMNS } from "../rows/wire-tsv.ts";

/**
 * How each telemetry column travels in a Native block (docs/agent-protocol.md, "Native blocks"):
 * its ClickHouse type on the wire and what the controller must still check once the type is right.
 * A value that fits the type fits most columns (ports in UInt16, protocols in UInt8, any 16 bytes
 * as IPv6); what remains is the counters and times the schema caps at 2^53 - 1, Bool's 0/1 and the
 * token alphabet.
 */
export type TWireKind =
  | "u8"
  | "u16"
  | "u32"
  /** UInt64 counter, at most 2^53 - 1 (a JS number's exact range, as the schema says). */
  | "u64"
  /** UInt64 identifier, any value. */
  | "u64id"
  | "time"
  | "ip"
  | "optionalIp"
  | "token"
  | "bool";

export type TWireColumn = {
  name: string;
  kind: TWireKind;
  optional: boolean;
  ddlDefault: string | undefined;
};

export const TIME_TYPE = "DateTime64(6, 'UTC')";
export const LC_STRING = "LowCardinality(String)";

/** The types a block may give each kind (the first is the one the encoder writes). */
export const WIRE_TYPES: Record<TWireKind, readonly string[]> = {
  u8: ["UInt8"],
  u16: ["UInt16"],
  u32: ["UInt32"],
  u64: ["UInt64"],
  u64id: ["UInt64"],
  time: [TIME_TYPE],
  ip: ["IPv6"],
  optionalIp: ["IPv6"],
  // A plain String is accepted too: ClickHouse converts it on Native input (tested).
  token: [LC_STRING, "String"],
  bool: ["Bool"],
};

/** Bytes per value of the fixed-width types (the others are String and LowCardinality(String)). */
export const FIXED_WIDTH: Record<string, number> = {
  UInt8: 1,
  Bool: 1,
  UInt16: 2,
  UInt32: 4,
  UInt64: 8,
  [TIME_TYPE]: 8,
  IPv6: 16,
  UUID: 16,
};

export function wireKind(c: Column): TWireKind | undefined {
  switch (c.type) {
    case "UInt8":
      return "u8";
    case "UInt16":
      return "u16";
    case "UInt32":
      return "u32";
    case "UInt64":
      return fieldKind(c) === "string" ? "u64id" : "u64";
    case TIME_TYPE:
      return "time";
    case "IPv6":
      return c.tsv("") === "::" ? "optionalIp" : "ip";
    case LC_STRING:
      return "token";
    case "Bool":
      return "bool";
    default:
      return undefined;
  }
}

const cache = new Map<string, Map<string, TWireColumn>>();

/**
 * The columns of `table` an agent may put in a block (all but org_id and agent_id), by name. Throws
 * for a table with a column type this prototype has no wire form for (free text, Nullable, arrays:
 * l7_flow_log and application_metrics; L4 and network rows have none).
 */
export function wireColumnsOf(table: RowTable): Map<string, TWireColumn> {
  let m = cache.get(table.name);
  if (m) return m;
  m = new Map();
  for (const [name, c] of Object.entries(table.columns)) {
    if (OWNER_COLUMNS.includes(name)) continue;
    const kind = wireKind(c);
    if (!kind) throw new Error(`native-block: ${table.name}.${name} (${c.type}) has no Native wire form yet`);
    m.set(name, { name, kind, optional: c.ddlDefault !== undefined, ddlDefault: c.ddlDefault });
  }
  cache.set(table.name, m);
  return m;
}

/** [a-z0-9_.-], the token alphabet (columns.ts TOKEN_RE), as a byte table. */
export const TOKEN_BYTE = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  TOKEN_BYTE[c] = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45 ? 1 : 0;
}
export const TOKEN_MAX = 32;

/** UUID text → its 16 bytes as ClickHouse's Native UUID (two little-endian UInt64, high half first). */
export function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error("not a UUID");
  const be = Buffer.from(hex, "hex");
  const out = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) {
    out[i] = be[7 - i] as number;
    out[8 + i] = be[15 - i] as number;
  }
  return out;
}
