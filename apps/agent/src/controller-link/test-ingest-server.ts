/**
 * For the exporter and spool tests: a real HTTP server on loopback that answers POST /v1/ingest as
 * the controller does, in the encodings it is told it reads. Native bodies go through the
 * controller's own check (`validateNativeBlock`, refused whole with its reason); TSV and JSON rows
 * are checked one by one against their column (a bad row rejects only itself), as the controller
 * does; batch ids are remembered, so a second delivery is answered `duplicate`. A controller that
 * does not read what was sent answers as an older one does: 400 naming what it reads.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  INGEST_NATIVE_CONTENT_TYPE,
  INGEST_TSV_CONTENT_TYPE,
  type TIngestBatch,
  type TIngestResponse,
} from "@flowplane/protocol";
import { validateNativeBlock } from "@flowplane/query/native-block";
import { ROW_TABLES } from "@flowplane/query/rows";
import { decodeNativeBatch, decodeTsvBatch, type TIngestEncoding } from "./exporter.ts";

export type TReceived = {
  encoding: TIngestEncoding;
  contentType: string;
  body: Buffer;
  batchId: string;
  status: number;
};

export class TestIngestServer {
  #server: Server | undefined;
  port = 0;
  /** What it reads; an older controller reads ["tsv", "json"]. */
  reads: Set<TIngestEncoding>;
  readonly received: TReceived[] = [];
  /** Rows stored, by batch id (each batch once). */
  readonly stored = new Map<string, { table: string; rows: Record<string, unknown>[] }>();

  constructor(reads: TIngestEncoding[] = ["native", "tsv", "json"]) {
    this.reads = new Set(reads);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get storedRows(): Record<string, unknown>[] {
    return [...this.stored.values()].flatMap((b) => b.rows);
  }

  /** Listens on `port` (0: any free port, then kept for a restart). */
  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const { status, body } = this.#answer(req.headers["content-type"] ?? "", Buffer.concat(chunks));
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  #answer(contentType: string, body: Buffer): { status: number; body: unknown } {
    const encoding: TIngestEncoding | undefined =
      contentType === INGEST_NATIVE_CONTENT_TYPE
        ? "native"
        : contentType === INGEST_TSV_CONTENT_TYPE
          ? "tsv"
          : contentType === "application/json"
            ? "json"
            : undefined;
    const refuse = (message: string) => ({
      status: 400,
      body: { error: { code: "BAD_REQUEST", message } },
    });
    const note = (batchId: string, status: number) =>
      this.received.push({ encoding: encoding ?? "json", contentType, body, batchId, status });
    if (!encoding || !this.reads.has(encoding)) {
      let batchId = "";
      try {
        batchId = JSON.parse(
          body.toString("utf8", 0, encoding === "json" ? body.length : body.indexOf(10)),
        ).batchId;
      } catch {}
      note(batchId, 400);
      const reads = [...this.reads].map((e) =>
        e === "json"
          ? "application/json"
          : e === "tsv"
            ? INGEST_TSV_CONTENT_TYPE
            : INGEST_NATIVE_CONTENT_TYPE,
      );
      return refuse(
        `unsupported ingest encoding '${contentType}': this controller reads ${reads.join(" and ")}`,
      );
    }
    let batch: TIngestBatch;
    if (encoding === "native") {
      const nl = body.indexOf(10);
      const head = JSON.parse(body.toString("utf8", 0, nl)) as {
        batchId: string;
        agentId: string;
        table: string;
      };
      const v = validateNativeBlock(body.subarray(nl + 1), {
        table: head.table as "l4_flow_log",
        orgId: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        agentId: head.agentId,
      });
      if (!v.ok) {
        note(head.batchId, 400);
        return refuse(v.error);
      }
      batch = decodeNativeBatch(body);
    } else
      batch = encoding === "tsv" ? decodeTsvBatch(body) : (JSON.parse(body.toString("utf8")) as TIngestBatch);
    note(batch.batchId, 200);
    if (this.stored.has(batch.batchId)) {
      return { status: 200, body: { batchId: batch.batchId, accepted: 0, rejected: [], duplicate: true } };
    }
    const columns = ROW_TABLES[batch.table].columns as Record<
      string,
      { tsv: (v: unknown) => string | undefined }
    >;
    const rejected: TIngestResponse["rejected"] = [];
    const kept: Record<string, unknown>[] = [];
    batch.rows.forEach((row, index) => {
      const r = row as Record<string, unknown>;
      const bad = Object.keys(r).find((k) => r[k] !== undefined && columns[k]?.tsv(r[k]) === undefined);
      if (bad) rejected.push({ index, error: `${bad}: invalid value ${JSON.stringify(r[bad])}` });
      else kept.push(r);
    });
    this.stored.set(batch.batchId, { table: batch.table, rows: kept });
    const answer: TIngestResponse = { batchId: batch.batchId, accepted: kept.length, rejected };
    return { status: 200, body: answer };
  }
}
