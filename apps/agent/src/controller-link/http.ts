import { request as httpsRequest } from "node:https";
import type { z } from "zod";
import { ControllerError, errorFromResponse } from "./errors.ts";

export type TPostOptions = {
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** PEM of the CA that signed the controller's certificate, for a private CA (TLS link). */
  ca?: string | Buffer;
};

/** HTTPS with a private CA: Node's fetch takes no CA per request, node:https does. */
function postWithCa(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  ca: string | Buffer,
  signal: AbortSignal,
) {
  return new Promise<Response>((resolve, reject) => {
    const req = httpsRequest(url, { method: "POST", headers, ca, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: h }));
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
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
  let res: Response;
  try {
    const headers = { "content-type": contentType, ...opts.headers };
    res =
      opts.ca && url.startsWith("https:")
        ? await postWithCa(url, body, headers, opts.ca, signal)
        : await fetch(url, { method: "POST", headers, body, signal });
  } catch (err) {
    throw new ControllerError(0, "NETWORK", `controller unreachable at ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw await errorFromResponse(res);
  const json: unknown = await res.json().catch(() => undefined);
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
