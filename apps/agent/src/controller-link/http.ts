import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { z } from "zod";
import { ControllerError, errorFromResponse } from "./errors.ts";

export type TPostOptions = {
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** PEM of the CA that signed the controller's certificate, for a private CA (TLS link). */
  ca?: string | Buffer;
};

/**
 * Keep-alive connections, one pool per scheme (and per private CA for https): a batch reuses the
 * connection of the one before. node:http rather than fetch: for a ~1 MB body it costs the agent
 * less CPU per request (docs/notes/agent-send-session5.md), and it takes a CA per request.
 */
const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgents = new Map<string | Buffer | undefined, HttpsAgent>();
function httpsAgentFor(ca: string | Buffer | undefined): HttpsAgent {
  let a = httpsAgents.get(ca);
  if (!a) {
    a = new HttpsAgent({ keepAlive: true, ...(ca ? { ca } : {}) });
    httpsAgents.set(ca, a);
  }
  return a;
}

type TAnswer = { status: number; statusText: string; headers: IncomingHttpHeaders; body: Buffer };

/** One POST of `body` as it is (no copy), its whole answer read. */
function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  ca: string | Buffer | undefined,
  signal: AbortSignal,
): Promise<TAnswer> {
  return new Promise<TAnswer>((resolve, reject) => {
    const tls = url.startsWith("https:");
    const send = tls ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        agent: tls ? httpsAgentFor(ca) : httpAgent,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? "",
            headers: res.headers,
            body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("answer aborted")));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** An error answer as a fetch Response, for `errorFromResponse`. */
function asResponse(a: TAnswer): Response {
  const h = new Headers();
  for (const [k, v] of Object.entries(a.headers)) {
    if (typeof v === "string") h.set(k, v);
    else if (Array.isArray(v)) for (const x of v) h.append(k, x);
  }
  return new Response(a.body, { status: a.status, statusText: a.statusText, headers: h });
}

/**
 * POST a JSON body and validate the answer with `schema`. Every failure becomes a ControllerError:
 * a non-2xx answer carries the controller's code, no answer is NETWORK (status 0, retryable), an
 * answer this agent cannot read is BAD_RESPONSE.
 */
export function postJson<S extends z.ZodType>(
  url: string,
  body: unknown,
  schema: S,
  opts: TPostOptions = {},
): Promise<z.infer<S>> {
  return postBody(url, JSON.stringify(body), "application/json", schema, opts);
}

/** `postJson` with a body already encoded (the compact ingest encoding) and its content type. */
export async function postBody<S extends z.ZodType>(
  url: string,
  body: string | Buffer,
  contentType: string,
  schema: S,
  opts: TPostOptions = {},
): Promise<z.infer<S>> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: TAnswer;
  try {
    const headers = { "content-type": contentType, ...opts.headers };
    res = await post(url, body, headers, opts.ca, signal);
  } catch (err) {
    throw new ControllerError(0, "NETWORK", `controller unreachable at ${url}: ${(err as Error).message}`);
  }
  if (res.status < 200 || res.status > 299) throw await errorFromResponse(asResponse(res));
  let json: unknown;
  try {
    json = JSON.parse(res.body.toString("utf8"));
  } catch {
    json = undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ControllerError(
      res.status,
      "BAD_RESPONSE",
      `controller answer did not match protocol: ${parsed.error.issues[0]?.message ?? "unreadable"}`,
    );
  }
  return parsed.data;
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}
