import type { IncomingMessage } from "node:http";
import { errorCodes } from "fastify";

/**
 * Reused buffers for Native request bodies (ingest-native.ts). Fastify's raw body parser keeps the
 * socket's chunks and joins them into a new Buffer of the body's size per request: a few MB of
 * fresh memory outside the heap per batch (page faults on first touch), which pushed V8 into a
 * mark-compact of the whole heap every few dozen batches ("external memory pressure"), most of the
 * ingest process's CPU going to the GC's helper threads (docs/notes/ingest-controller-session5.md).
 * A Native body is dead once its handler ends (`validateNativeBlock` copies the block into the
 * payload it returns), so its buffer is lent for the request and given back after: at most one
 * buffer per batch in flight stays allocated, each the size of the largest body it held.
 */
export class BodyPool {
  readonly #free: Buffer[] = [];
  readonly #lent = new WeakSet<ArrayBufferLike>();

  constructor(private readonly max: number) {}

  /** `bytes` of a buffer of the pool (or a new one), for `release` once the body is dead. */
  acquire(bytes: number): Buffer {
    const i = this.#free.findIndex((b) => b.length >= bytes);
    const buf =
      i >= 0
        ? (this.#free.splice(i, 1)[0] as Buffer)
        : Buffer.allocUnsafeSlow(Math.max(bytes, 64 << 10) + (bytes >> 3));
    this.#lent.add(buf.buffer);
    return buf.subarray(0, bytes);
  }

  /** Gives a body's buffer back; anything not lent by `acquire` (or given back already) is ignored. */
  release(body: Buffer): void {
    const ab = body.buffer;
    if (!this.#lent.delete(ab)) return;
    if (this.#free.length < this.max) this.#free.push(Buffer.from(ab, 0, ab.byteLength));
  }

  /**
   * A Fastify content type parser (raw stream in) reading a body with a Content-Length into a
   * pooled buffer, with the answers of Fastify's own parser: 413 past `limit`, 400 when the body's
   * length is not the header's. A body without Content-Length (chunked) is joined as Fastify does.
   */
  parser(limit: number) {
    return (req: { headers: IncomingMessage["headers"] }, payload: IncomingMessage, done: TDone) => {
      const length = Number(req.headers["content-length"]);
      if (length > limit) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), undefined);
      const pooled = Number.isInteger(length) && length >= 0 ? this.acquire(length) : undefined;
      const chunks: Buffer[] = [];
      let received = 0;
      const stop = () => {
        payload.removeListener("data", onData);
        payload.removeListener("end", onEnd);
        payload.removeListener("error", onEnd);
      };
      const fail = (err: Error) => {
        stop();
        if (pooled) this.release(pooled);
        done(err, undefined);
      };
      const onData = (chunk: Buffer | string) => {
        const c = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        if (received + c.length > limit) return fail(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        if (pooled) {
          if (received + c.length > pooled.length)
            return fail(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
          c.copy(pooled, received);
        } else chunks.push(c);
        received += c.length;
      };
      const onEnd = (err?: Error & { statusCode?: number }) => {
        if (err) {
          if (!(typeof err.statusCode === "number" && err.statusCode >= 400)) err.statusCode = 400;
          return fail(err);
        }
        if (pooled && received !== pooled.length)
          return fail(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        stop();
        done(null, pooled ?? Buffer.concat(chunks, received));
      };
      payload.on("data", onData);
      payload.on("end", onEnd);
      payload.on("error", onEnd);
      payload.resume();
    };
  }
}

type TDone = (err: Error | null, body?: unknown) => void;
