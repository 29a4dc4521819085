import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { buildAddon } from "./native-addon.ts";

// A minimal N-API module exporting answer() = 42.
const SOURCE = `#include <node_api.h>
static napi_value answer(napi_env env, napi_callback_info info) {
  napi_value v; napi_create_int32(env, 42, &v); return v;
}
static napi_value init(napi_env env, napi_value exports) {
  napi_value fn; napi_create_function(env, "answer", NAPI_AUTO_LENGTH, answer, NULL, &fn);
  napi_set_named_property(env, exports, "answer", fn); return exports;
}
NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
`;

const root = mkdtempSync(join(tmpdir(), "build-addon-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const src = join(root, "answer.c");
writeFileSync(src, SOURCE);

describe("buildAddon", () => {
  it("compiles into a 0700 directory, names the file by hash and loads it", () => {
    const dir = join(root, "ok");
    const addon = buildAddon<{ answer(): number }>({ name: "answer", source: pathToFileURL(src), dir });
    if (typeof addon === "string") throw new Error(addon);
    expect(addon.answer()).toBe(42);
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^answer-[0-9a-f]{16}\.node$/)]);
  });

  it("refuses a build directory others can write to", () => {
    const dir = join(root, "open");
    buildAddon({ name: "answer", source: pathToFileURL(src), dir });
    chmodSync(dir, 0o777);
    const r = buildAddon({ name: "answer", source: pathToFileURL(src), dir });
    expect(r).toMatch(/^answer addon: .* is not a private directory .*mode 777/);
  });

  it("refuses a .node file others can write to (planted or tampered)", () => {
    const dir = join(root, "file");
    buildAddon({ name: "answer", source: pathToFileURL(src), dir });
    const [file] = readdirSync(dir);
    chmodSync(join(dir, file as string), 0o666);
    const r = buildAddon({ name: "answer", source: pathToFileURL(src), dir });
    expect(r).toMatch(/^answer addon: .* is not a private file .*mode 666/);
  });

  it("says why in one line when the source does not compile", () => {
    const bad = join(root, "bad.c");
    writeFileSync(bad, "this is not C\n");
    const r = buildAddon({ name: "bad", source: pathToFileURL(bad), dir: join(root, "bad") });
    expect(r).toMatch(/^bad addon unavailable \(.*error/);
    expect(r).not.toContain("\n");
    expect(readdirSync(join(root, "bad"))).toEqual([]); // no temp file left behind
  });
});
