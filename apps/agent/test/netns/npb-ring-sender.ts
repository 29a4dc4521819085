/**
 * Child process of npb-packet-ring.test.ts, run inside the veth lab's tx namespace:
 * `node --import tsx npb-ring-sender.ts '<json>'` with { pcaps, policy, packetSocket, direct } replays
 * the captures (shared ones by name, others by absolute path) through the broker and the real sender, then prints the sender's stats
 * and where each destination's copies went as one JSON line.
 */
import { resolve } from "node:path";
import { sharedPcapsDir } from "@flowplane/core/shared-dir";
import { readCaptureFile } from "../../src/capture/capture-file.ts";
import { decodeFrame } from "../../src/decode/packet.ts";
import { PacketMeta } from "../../src/decode/packet-meta.ts";
import { createPacketBroker } from "../../src/npb/broker.ts";
import { createSender } from "../../src/npb/sender.ts";

const arg = JSON.parse(process.argv[2]!) as {
  pcaps: string[];
  policy: unknown;
  packetSocket: "require" | "auto" | "off";
  /** Build copies in the ring's slots (DirectSend) rather than hand them to send(). */
  direct?: boolean;
};
const sender = createSender({ packetSocket: arg.packetSocket });
const m = new PacketMeta();
for (const name of arg.pcaps) {
  let broker: ReturnType<typeof createPacketBroker> | null = null;
  readCaptureFile(
    resolve(sharedPcapsDir(), name), // a shared capture by name, or an absolute path
    (linkType, buf, off, capLen, _w, ts) => {
      broker ??= createPacketBroker({
        policies: [arg.policy],
        agentId: "a",
        linkType,
        send: sender.send,
        ...(arg.direct ? { direct: sender } : {}),
      });
      decodeFrame(m, linkType, buf, off, capLen);
      broker.onPacket(m, buf, off, capLen, ts);
    },
    () => {},
  );
  await sender.flush();
}
console.log(JSON.stringify({ stats: sender.stats(), routes: sender.routeReasons() }));
await sender.close();
