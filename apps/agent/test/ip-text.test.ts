import { describe, expect, it } from "vitest";
import { ipText } from "../src/flow/ip-text.ts";
import { Rng } from "../src/testing/rng.ts";

describe("ipText", () => {
  it("gives each IPv4 address its own text through the cache (collisions and repeats)", () => {
    const rng = new Rng(5);
    const seen: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      // Half repeats of earlier addresses, half new ones: slots are overwritten and hit.
      const w =
        seen.length > 0 && rng.chance(0.5)
          ? seen[rng.int(seen.length)]!
          : (rng.int(0x10000) * 0x10000 + rng.int(0x10000)) >>> 0;
      seen.push(w);
      expect(ipText(4, w, 0, 0, 0)).toBe([w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255].join("."));
    }
    expect(ipText(4, 0, 0, 0, 0)).toBe("0.0.0.0");
    expect(ipText(4, 0xffffffff, 0, 0, 0)).toBe("255.255.255.255");
    expect(ipText(6, 0, 0, 0xffff, 0x7f000001)).toBe("::ffff:127.0.0.1");
  });
});
