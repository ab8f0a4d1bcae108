/**
 * `npm run test:node22`: the oldest Node `engines` allows (22.13.0, from the npm registry's `node-<os>-<arch>`
 * package) runs the packed, installed holdfast: import, a SQLite store (create, append, window, purge-free
 * delete), a `holdfast cleanup --enforce` that deletes expired sessions through the SQLite purge worker
 * (the sweeper's bulk delete path, a worker thread), then `holdfast serve --port 0` answering a mock turn; neither
 * prints Node 22's SQLite ExperimentalWarning, while a script's own warning still prints.
 * Not part of `npm test` (it downloads Node and installs the package); exits 1 on any failure.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";

const VERSION = process.env.HOLDFAST_OLD_NODE ?? "22.13.0";
const ROOT = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "holdfast-node22-"));

function run(command: string, args: string[], cwd: string, env = process.env): string {
  return execFileSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

try {
  // The old Node, unpacked from the registry (nodejs.org need not be reachable).
  const nodePackage = `node-${process.platform}-${process.arch}@${VERSION}`;
  run("npm", ["pack", "--silent", nodePackage], dir);
  const nodeTarball = readdirSync(dir).find((name) => name.endsWith(".tgz"));
  if (!nodeTarball) throw new Error(`npm pack ${nodePackage} wrote no tarball`);
  mkdirSync(join(dir, "node"));
  run("tar", ["xzf", join(dir, nodeTarball), "-C", join(dir, "node")], dir);
  const oldNode = join(dir, "node", "package", "bin", "node");
  const version = run(oldNode, ["--version"], dir).trim();
  if (version !== `v${VERSION}`) throw new Error(`expected Node v${VERSION}, got ${version}`);

  // holdfast as a user installs it (npm pack builds dist/), into an app run by the old Node.
  const packed = join(dir, "packed");
  mkdirSync(packed);
  run("npm", ["pack", "--silent", "--pack-destination", packed], ROOT);
  const tarball = readdirSync(packed).find((name) => name.endsWith(".tgz"));
  if (!tarball) throw new Error("npm pack wrote no holdfast tarball");
  const app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", join(packed, tarball)], app);
  const env = { ...process.env, PATH: `${dirname(oldNode)}${delimiter}${process.env.PATH ?? ""}` };

  writeFileSync(
    join(app, "store.mjs"),
    `import { createStore } from "holdfast";
const store = await createStore("sqlite:./data/smoke.db");
const s = await store.create("t", {});
await store.append("t", s.id, [{ content: { type: "message", role: "user", content: "hello" } }]);
await store.append("t", s.id, [{ content: { type: "message", role: "assistant", content: "hi" } }]);
const w = await store.readWindow("t", s.id, { maxTokens: 1000 });
if (w.items.length !== 2 || w.items[1].content.content !== "hi") throw new Error("window: " + JSON.stringify(w));
if ((await store.readItems("t", s.id, {})).length !== 2) throw new Error("readItems");
await store.delete("t", s.id);
await store.close();
console.log("store ok on", process.version);
`,
  );
  process.stdout.write(run(oldNode, ["store.mjs"], app, env));

  // The sweeper's purge: expired sessions deleted on the purge worker thread, the live one kept.
  writeFileSync(join(app, "holdfast.yaml"), "lifecycle:\n  defaults:\n    on_expiry: delete\n");
  writeFileSync(
    join(app, "expire.mjs"),
    `import { createStore } from "holdfast";
const store = await createStore("sqlite:./data/sweep.db");
const items = Array.from({ length: 20 }, (_, n) => ({ content: { type: "message", role: "user", content: "m" + n } }));
for (let i = 0; i < 30; i++) await store.create("t", { idleTtlMs: 500, items });
const live = await store.create("t", { items: items.slice(0, 1) });
await store.close();
console.log(live.id);
`,
  );
  const live = run(oldNode, ["expire.mjs"], app, env).trim();
  await new Promise((resolve) => setTimeout(resolve, 600));
  const holdfast = join(app, "node_modules", ".bin", "holdfast");
  const sweep = [
    "cleanup",
    "--enforce",
    "--json",
    "--config",
    "holdfast.yaml",
    "--store",
    "sqlite:./data/sweep.db",
  ];
  const swept = spawnSync(holdfast, sweep, { cwd: app, env, encoding: "utf8" });
  if (swept.status !== 0) throw new Error(`cleanup (${swept.status}): ${swept.stderr}`);
  // Node 22's SQLite notice is dropped by the CLI and its purge and checkpoint workers.
  if (swept.stderr.includes("ExperimentalWarning")) throw new Error(`cleanup warned: ${swept.stderr}`);
  const { report } = JSON.parse(swept.stdout) as {
    report: { done: number; errors: number; itemsRemoved: number };
  };
  if (report.done !== 30 || report.errors !== 0 || report.itemsRemoved !== 600) {
    throw new Error(`cleanup: ${JSON.stringify(report)}`);
  }
  writeFileSync(
    join(app, "swept.mjs"),
    `import { DatabaseSync } from "node:sqlite";
// Physically gone (expired sessions are invisible through the store before any sweep).
const db = new DatabaseSync("./data/sweep.db");
const sessions = db.prepare("SELECT id FROM sessions").all().map((row) => row.id);
const items = db.prepare("SELECT count(*) AS n FROM items").get().n;
if (sessions.join() !== process.argv[2] || items !== 1) throw new Error("left: " + sessions + ", " + items + " items");
db.close();
`,
  );
  run(oldNode, ["swept.mjs", live], app, env);
  console.log(
    `cleanup ok on ${version}: 30 expired sessions (600 items) purged by the purge worker, the live one kept`,
  );

  // Only that notice: a warning of the script's own, after the same quieting, still prints.
  writeFileSync(
    join(app, "warn.mjs"),
    `const { quietSqliteNotice } = await import("./node_modules/holdfast/dist/store/drivers/sqlite-notice.js");
quietSqliteNotice();
await import("node:sqlite");
process.emitWarning("the smoke's own warning", "ExperimentalWarning");
`,
  );
  const warned = spawnSync(oldNode, ["warn.mjs"], { cwd: app, env, encoding: "utf8" });
  if (
    warned.status !== 0 ||
    !warned.stderr.includes("ExperimentalWarning: the smoke's own warning") ||
    warned.stderr.includes("SQLite is an experimental")
  ) {
    throw new Error(`warnings (${warned.status}): ${warned.stderr}`);
  }
  console.log(`warnings ok on ${version}: no SQLite notice from the CLI, other warnings still printed`);

  const child = spawn(holdfast, ["serve", "--port", "0", "--store", "sqlite:./data/serve.db"], {
    cwd: app,
    env,
  });
  let output = "";
  child.stderr.on("data", (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        output += d;
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match?.[1]) resolve(match[1]);
      });
      void exited.then((code) => reject(new Error(`serve exited early (${code}): ${output}`)));
    });
    const response = await fetch(`${url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "mock", input: "hello", store: true }),
    });
    const body = (await response.json()) as { status?: string };
    if (response.status !== 200 || body.status !== "completed") {
      throw new Error(`mock turn: ${response.status} ${JSON.stringify(body)}`);
    }
    console.log(`serve ok on ${version}: a mock turn completed`);
  } finally {
    child.kill("SIGTERM");
  }
  const code = await exited;
  if (code !== 0) throw new Error(`serve exited with ${code}: ${output}`);
  if (output.includes("ExperimentalWarning")) throw new Error(`serve warned: ${output}`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
