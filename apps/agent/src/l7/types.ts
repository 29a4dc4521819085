/**
 * Shapes shared by the L7 processor and its protocol parsers. Parsers never build rows: they
 * report messages (request / response / one-way) to a `ParseContext`, and the processor pairs
 * them, applies timeouts and privacy, and emits rows. That keeps pairing rules, bounds and
 * row layout in one place and each parser down to its wire format.
 */

/** Response status tokens (the `response_status` column). */
export type ResponseStatus = "ok" | "client_error" | "server_error" | "timeout" | "unknown";

/** One row of `l7_flow_log` (keys = ClickHouse column names, as issue 4 lists them). */
export interface L7Row {
  flow_id: string;
  org_id: string;
  agent_id: string;
  start_time: number;
  end_time: number;
  client_ip: string;
  client_port: number;
  server_ip: string;
  server_port: number;
  ip_protocol: number;
  l7_protocol: string;
  version: string;
  request_type: string;
  request_domain: string;
  request_resource: string;
  endpoint: string;
  request_length: number;
  response_length: number;
  response_status: ResponseStatus;
  response_code: number;
  response_exception: string;
  response_duration_us: number;
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  x_request_id: string;
  req_tcp_seq: number;
  resp_tcp_seq: number;
}

/** What the flow engine knows about a flow, asked once per flow at its first payload. */
export interface FlowMeta {
  flowId: string;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  ipProtocol: number;
}

/** Trace context found in a request's headers (after privacy rules). */
export interface TraceContext {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  xRequestId: string;
}

/** A request as a parser reports it. Absent fields mean "not known". */
export interface L7Request {
  /** Pairing key (stream id, correlation id, transaction id, packet id); undefined = FIFO. */
  key?: number;
  /** True when no response is expected (PUBLISH QoS 0, NATS PUB, AMQP publish...). */
  oneWay?: boolean;
  /** Overrides the flow's protocol name for this row (http2 → grpc). */
  protocol?: string;
  version?: string;
  type?: string;
  domain?: string;
  resource?: string;
  endpoint?: string;
  length?: number;
  trace?: TraceContext;
  /** Time and TCP sequence of the first byte; default: the segment being parsed. */
  ts?: number;
  seq?: number;
}

export interface L7Response {
  key?: number;
  protocol?: string;
  version?: string;
  status: ResponseStatus;
  code?: number;
  exception?: string;
  length?: number;
  ts?: number;
  seq?: number;
  /** Fields a response can fill for its row when the request did not carry them (DNS name). */
  type?: string;
  domain?: string;
  resource?: string;
  endpoint?: string;
}

/** What a parser reports to. Time and sequence of the current segment are readable. */
export interface ParseContext {
  /** Capture time (µs) of the segment being parsed. */
  ts: number;
  /** TCP sequence number of the first byte of the current parse window (0 for UDP). */
  seq: number;
  request(r: L7Request): void;
  response(r: L7Response): void;
  /** Request type of the oldest unanswered FIFO request (HTTP needs it for HEAD). */
  oldestPendingType(): string;
  /** Trace extraction with the processor's configured header names and privacy rules. */
  readonly headers: HeaderPolicy;
}

/** Header handling shared by HTTP/1 and HTTP/2 (lower-case names). */
export interface HeaderPolicy {
  /** Offer one header; returns true when it was useful (trace or request id). */
  offer(trace: TraceContext, name: string, value: string): boolean;
  /** The same from raw bytes (name [ns, ne), value [vs, ve)); allocates only on a match. */
  offerBytes(trace: TraceContext, b: Uint8Array, ns: number, ne: number, vs: number, ve: number): boolean;
  /** 1 at each first byte a name `offerBytes` can match may have. */
  readonly nameStarts: Uint8Array;
  /** One HTTP/1 header line [p, eol) (name, colon, value) whose first byte `nameStarts` marks. */
  offerLine(trace: TraceContext, b: Uint8Array, p: number, eol: number): boolean;
}

/**
 * One protocol's parser instance for one flow. `parse` sees a contiguous window of one
 * direction's byte stream and returns how many bytes it consumed:
 * - 0: needs more bytes (the processor buffers, bounded);
 * - n > end - off: the message is longer than what is here and the rest is not needed (body):
 *   the processor skips the remainder as it arrives;
 * - -1: not this protocol / cannot parse; the processor drops the window and counts an error.
 */
export interface L7Parser {
  parse(ctx: ParseContext, dir: 0 | 1, b: Uint8Array, off: number, end: number): number;
  /** Bytes were lost in `dir`: drop partial state that depends on them. */
  onGap?(dir: 0 | 1): void;
}

export interface ProtocolSpec {
  /** `l7_protocol` token. */
  name: string;
  /** Ports that make this protocol the first guess. */
  ports: readonly number[];
  /** Ports where a look-alike protocol lives (NBNS and LLMNR share DNS's wire format). */
  excludePorts?: readonly number[];
  /**
   * Looks at the first payload bytes of a flow: 0 = not this protocol, 1 = a client message,
   * 2 = a server message (the processor then knows which side is which, whatever ports say).
   * `hinted`: a port of the flow is one of `ports` (lets a detector accept a message that
   * several protocols share, e.g. a bare `PING`, only where the port points at it).
   */
  detect(b: Uint8Array, off: number, end: number, udp: boolean, hinted: boolean): 0 | 1 | 2;
  create(udp: boolean): L7Parser;
  /** Only over UDP, only over TCP, or both. */
  transport: "tcp" | "udp" | "both";
}
