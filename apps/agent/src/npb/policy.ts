/**
 * Packet-broker policies: the zod schema (re-exported from @flowplane/protocol: what the console
 * writes and the controller distributes) and `compilePolicies`, which turns them into a matcher evaluated per packet on
 * the decoder's reused PacketMeta record.
 *
 * Evaluation order and "which policies fire": policies are sorted by `priority` (lower first,
 * ties by id) and the FIRST matching policy wins, unless it sets `continue: true`, in which case
 * evaluation goes on and lower-priority policies may deliver the same packet too (one packet to
 * the IDS and to the APM tool). Disabled policies and policies for other agent groups are
 * dropped at compile time.
 *
 * Client/server: a packet has only source and destination. A packet matches when it fits the
 * policy in either orientation (src as client and dst as server, or the reverse), so both
 * directions of a flow match one policy. Its direction is the orientation that matched; when
 * both do (e.g. no address or port constraint), TCP SYN/SYN-ACK decide, else the higher port is
 * taken as the client's ephemeral port.
 */
import { type Policy, PROTOCOL_NAMES, parseCidr } from "@flowplane/protocol";
import { type PacketMeta, TCP_ACK, TCP_SYN, TUNNEL_NAMES } from "../decode/packet-meta.ts";
import { AddrTable } from "./addr-table.ts";

// The wire shape (schemas, formatIssues, parsePolicies) lives in @flowplane/protocol: the
// console, the controller and this compiler share one definition.
export {
  type Encap,
  formatIssues,
  type ParseResult,
  type Policy,
  type PolicyInput,
  parsePolicies,
  ZNpbAction as ActionSchema,
  ZNpbEncap as EncapSchema,
  ZNpbMatch as MatchSchema,
  ZNpbPolicy as PolicySchema,
  ZNpbPolicyList as PolicyListSchema,
} from "@flowplane/protocol";

// ---------------------------------------------------------------------------------------------

export const Direction = { clientToServer: 1, serverToClient: 2 } as const;

export interface CompiledPolicy {
  /** Position in `CompiledPolicies.policies` (also the index into counters). */
  index: number;
  policy: Policy;
  client: AddrTable | null;
  server: AddrTable | null;
  clientPorts: Uint8Array | null;
  serverPorts: Uint8Array | null;
  protocols: Uint8Array | null;
  vlans: Uint8Array | null;
  /** Bit per TunnelType; 0 = any. */
  tunnelTypes: number;
  tunnelIds: Set<number> | null;
  /** Index = interface index handed to onPacket; null = any interface. */
  interfaces: Uint8Array | null;
  /** 0 both, else Direction.* */
  direction: number;
  l7: Uint8Array | null;
  cont: boolean;
}

export interface CompileOptions {
  /** This agent's groups; undefined = keep every policy. */
  agentGroups?: readonly string[];
  /** Capture interface names by the index the caller passes to `match` (0-based). */
  interfaces?: readonly string[];
}

function portBitmap(specs: (number | string)[]): Uint8Array | null {
  if (specs.length === 0) return null;
  const bits = new Uint8Array(65536);
  for (const s of specs) {
    const [lo, hi] = typeof s === "number" ? [s, s] : (s.split("-").map(Number) as [number, number?]);
    bits.fill(1, lo, (hi ?? lo) + 1);
  }
  return bits;
}

function table(cidrs: string[]): AddrTable | null {
  return cidrs.length === 0 ? null : new AddrTable(cidrs.map((c) => ({ cidr: parseCidr(c), value: 1 })));
}

export class CompiledPolicies {
  readonly policies: CompiledPolicy[];
  /** L7 protocol name → the small id the caller passes to `match` (0 = unknown). */
  readonly l7Ids = new Map<string, number>();

  constructor(policies: readonly Policy[], o: CompileOptions = {}) {
    const groups = o.agentGroups ? new Set(o.agentGroups) : undefined;
    const ifNames = o.interfaces ?? [];
    const kept = policies
      .filter((p) => p.enabled)
      .filter((p) => !groups || p.agentGroups.length === 0 || p.agentGroups.some((g) => groups.has(g)))
      .sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const p of kept)
      for (const n of p.match.l7Protocols) if (!this.l7Ids.has(n)) this.l7Ids.set(n, this.l7Ids.size + 1);
    this.policies = kept.map((p, index) => {
      const m = p.match;
      let protocols: Uint8Array | null = null;
      if (m.protocols.length) {
        protocols = new Uint8Array(256);
        for (const x of m.protocols) protocols[typeof x === "number" ? x : (PROTOCOL_NAMES[x] as number)] = 1;
      }
      let vlans: Uint8Array | null = null;
      if (m.vlans.length) {
        vlans = new Uint8Array(4096);
        for (const v of m.vlans) vlans[v] = 1;
      }
      let tunnelTypes = 0;
      for (const t of m.tunnelTypes)
        tunnelTypes |= 1 << Math.max(0, TUNNEL_NAMES.indexOf(t === "none" ? "" : t));
      let interfaces: Uint8Array | null = null;
      if (m.interfaces.length) {
        interfaces = new Uint8Array(Math.max(1, ifNames.length));
        ifNames.forEach((n, i) => {
          if (m.interfaces.includes(n)) (interfaces as Uint8Array)[i] = 1;
        });
      }
      let l7: Uint8Array | null = null;
      if (m.l7Protocols.length) {
        l7 = new Uint8Array(256);
        for (const n of m.l7Protocols) l7[this.l7Ids.get(n) as number] = 1;
      }
      return {
        index,
        policy: p,
        client: table(m.clientCidrs),
        server: table(m.serverCidrs),
        clientPorts: portBitmap(m.clientPorts),
        serverPorts: portBitmap(m.serverPorts),
        protocols,
        vlans,
        tunnelTypes,
        tunnelIds: m.tunnelIds.length ? new Set(m.tunnelIds.map((x) => x | 0)) : null,
        interfaces,
        direction: m.direction === "both" ? 0 : m.direction === "client-to-server" ? 1 : 2,
        l7,
        cont: p.continue,
      };
    });
  }

  /**
   * Writes the indices of the policies that fire for this packet into `out` (highest priority
   * first) and returns how many. `ifIndex` indexes CompileOptions.interfaces; `l7` is an id
   * from `l7Ids` (0 = unknown). Allocates nothing.
   */
  match(m: PacketMeta, ifIndex: number, l7: number, out: Int32Array): number {
    let n = 0;
    const list = this.policies;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (!matchOne(c, m, ifIndex, l7)) continue;
      out[n++] = i;
      if (!c.cont || n === out.length) break;
    }
    return n;
  }
}

function side(
  t: AddrTable | null,
  ports: Uint8Array | null,
  v: number,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  port: number,
  hasPorts: boolean,
): boolean {
  if (ports !== null && (!hasPorts || ports[port] === 0)) return false;
  return t === null || t.lookup(v, a0, a1, a2, a3) >= 0;
}

function matchOne(c: CompiledPolicy, m: PacketMeta, ifIndex: number, l7: number): boolean {
  if (c.protocols !== null && c.protocols[m.proto] === 0) return false;
  if (c.vlans !== null && c.vlans[m.vlan] === 0) return false;
  if (c.tunnelTypes !== 0 && (c.tunnelTypes & (1 << m.tunnelType)) === 0) return false;
  if (c.tunnelIds !== null && (m.tunnelType === 0 || !c.tunnelIds.has(m.tunnelId))) return false;
  if (c.interfaces !== null && c.interfaces[ifIndex] !== 1) return false;
  if (c.l7 !== null && (l7 === 0 || c.l7[l7] === 0)) return false;
  const v = m.ipVersion;
  const hasPorts = (m.proto === 6 || m.proto === 17) && m.laterFragment === 0;
  const fwd =
    side(c.client, c.clientPorts, v, m.src0, m.src1, m.src2, m.src3, m.srcPort, hasPorts) &&
    side(c.server, c.serverPorts, v, m.dst0, m.dst1, m.dst2, m.dst3, m.dstPort, hasPorts);
  const rev =
    side(c.client, c.clientPorts, v, m.dst0, m.dst1, m.dst2, m.dst3, m.dstPort, hasPorts) &&
    side(c.server, c.serverPorts, v, m.src0, m.src1, m.src2, m.src3, m.srcPort, hasPorts);
  if (!fwd && !rev) return false;
  if (c.direction === 0) return true;
  let dir: number;
  if (fwd && !rev) dir = Direction.clientToServer;
  else if (rev && !fwd) dir = Direction.serverToClient;
  else dir = guessDirection(m);
  return dir === c.direction;
}

/** When the policy cannot tell client from server: SYN / SYN-ACK, else the higher port is the client's. */
export function guessDirection(m: PacketMeta): number {
  if (m.proto === 6 && (m.tcpFlags & TCP_SYN) !== 0) {
    return (m.tcpFlags & TCP_ACK) !== 0 ? Direction.serverToClient : Direction.clientToServer;
  }
  return m.srcPort >= m.dstPort ? Direction.clientToServer : Direction.serverToClient;
}

export function compilePolicies(policies: readonly Policy[], o: CompileOptions = {}): CompiledPolicies {
  return new CompiledPolicies(policies, o);
}
