/**
 * The demo's files, with the client bundled for the browser by esbuild (in memory: nothing is
 * written to the tree). Bundling with `platform: "browser"` also proves the client has no Node
 * imports: esbuild refuses to resolve `node:` modules for the browser.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export interface DemoAsset {
  type: string;
  body: string;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const STATIC: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "sw.js": "text/javascript; charset=utf-8",
};

/** Path (without a leading slash; `""` is the page) → asset. */
export async function buildDemoAssets(): Promise<Map<string, DemoAsset>> {
  const bundle = await build({
    entryPoints: [join(HERE, "../../src/client/index.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const assets = new Map<string, DemoAsset>();
  for (const [name, type] of Object.entries(STATIC)) {
    assets.set(name, { type, body: await readFile(join(HERE, name), "utf8") });
  }
  assets.set("", assets.get("index.html") as DemoAsset);
  assets.set("holdfast-client.js", {
    type: "text/javascript; charset=utf-8",
    body: bundle.outputFiles[0]?.text ?? "",
  });
  return assets;
}
