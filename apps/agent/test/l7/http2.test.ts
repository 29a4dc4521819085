/**
 * HTTP/2 and gRPC against Node's own HTTP/2 stack (nghttp2: real HPACK with Huffman strings
 * and dynamic-table references): a recording TCP relay sits between client and server and
 * the bytes it relays are fed to the processor as the two directions of one flow.
 */
import http2 from "node:http2";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { huffmanDecode } from "../../src/l7/protocols/hpack.ts";
import { harness } from "./harness.ts";

async function recordH2(
  run: (url: string) => Promise<void>,
  onServerStream: (s: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => void,
) {
  const chunks: { dir: 0 | 1; data: Buffer }[] = [];
  const server = http2.createServer();
  server.on("stream", onServerStream);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const sport = (server.address() as net.AddressInfo).port;
  const relay = net.createServer((c) => {
    const u = net.connect(sport, "127.0.0.1");
    c.on("data", (d) => {
      chunks.push({ dir: 0, data: Buffer.from(d) });
      u.write(d);
    });
    u.on("data", (d) => {
      chunks.push({ dir: 1, data: Buffer.from(d) });
      c.write(d);
    });
    c.on("close", () => u.destroy());
    u.on("close", () => c.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
  const rport = (relay.address() as net.AddressInfo).port;
  try {
    await run(`http://127.0.0.1:${rport}`);
  } finally {
    relay.close();
    server.close();
  }
  return chunks;
}

function request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string) {
  return new Promise<void>((resolve, reject) => {
    const req = client.request(headers, { endStream: body === undefined });
    req.on("response", () => {});
    req.on("data", () => {});
    req.on("end", () => resolve());
    req.on("error", reject);
    if (body !== undefined) req.end(body);
  });
}

describe("HTTP/2 and gRPC", () => {
  it("decodes the RFC 7541 C.4.1 Huffman string", () => {
    const b = Buffer.from("f1e3c2e5f23a6ba0ab90f4ff", "hex");
    expect(huffmanDecode(b, 0, b.length)).toBe("www.example.com");
  });

  it("pairs streams of a real h2c session (dynamic table, Huffman, trailers with grpc-status)", async () => {
    const chunks = await recordH2(
      async (url) => {
        const client = http2.connect(url);
        // Repeated headers go through the dynamic table on the second and third requests.
        await request(client, {
          ":method": "GET",
          ":path": "/items?id=1",
          traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
          authorization: "Bearer secret",
        });
        await request(client, {
          ":method": "GET",
          ":path": "/items?id=2",
          traceparent: "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",
        });
        await request(
          client,
          { ":method": "POST", ":path": "/pkg.Greeter/SayHello", "content-type": "application/grpc" },
          "\u0000\u0000\u0000\u0000\u0000",
        );
        client.close();
      },
      (stream, headers) => {
        if (headers["content-type"] === "application/grpc") {
          stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
          stream.on("wantTrailers", () =>
            stream.sendTrailers({ "grpc-status": "5", "grpc-message": "not found" }),
          );
          stream.end("\u0000\u0000\u0000\u0000\u0000");
        } else {
          stream.respond({ ":status": headers[":path"] === "/items?id=2" ? 404 : 200 });
          stream.end("x".repeat(100));
        }
      },
    );
    const h = harness({ serverPort: 40123 });
    for (const c of chunks) h.send(c.dir, c.data);
    h.l7.flush(h.now);
    expect(
      h.rows.map((r) => [r.l7_protocol, r.request_type, r.endpoint, r.response_code, r.response_status]),
    ).toEqual([
      ["http2", "GET", "/items", 200, "ok"],
      ["http2", "GET", "/items", 404, "client_error"],
      ["grpc", "POST", "/pkg.Greeter/SayHello", 5, "client_error"],
    ]);
    expect(h.rows[0]!.request_domain).toMatch(/^127\.0\.0\.1:/);
    expect(h.rows[0]!.trace_id).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(h.rows[1]!.span_id).toBe("00f067aa0ba902b7");
    expect(h.rows[2]!.response_exception).toBe("not found");
    expect(h.rows[0]!.response_length).toBeGreaterThanOrEqual(100);
    expect(JSON.stringify(h.rows)).not.toContain("secret");
  });
});
