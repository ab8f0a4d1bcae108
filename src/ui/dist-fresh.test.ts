/** The committed build (ui/dist) is what `npm run build:ui` makes from ui/src today. */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { build } from "vite";
import { DEFAULT_DIST_DIR } from "./server.ts";
import { loadStaticFiles } from "./static-files.ts";

test("ui/dist matches a fresh build of ui/src", async () => {
  const out = await mkdtemp(join(tmpdir(), "holdfast-ui-build-"));
  try {
    await build({
      configFile: join(DEFAULT_DIST_DIR, "..", "vite.config.ts"),
      logLevel: "silent",
      build: { outDir: out, emptyOutDir: true },
    });
    const fresh = loadStaticFiles(out);
    const committed = loadStaticFiles(DEFAULT_DIST_DIR);
    assert.deepEqual(
      [...committed.keys()].sort(),
      [...fresh.keys()].sort(),
      "run `npm run build:ui` and commit ui/dist",
    );
    for (const [path, file] of fresh) {
      assert.ok(committed.get(path)?.body.equals(file.body), `${path} differs: run \`npm run build:ui\``);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
