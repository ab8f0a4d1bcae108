/**
 * Holdfast as an app gets it: `npm pack` (which builds dist/ through the `prepare` script), the
 * tarball installed into a fresh project, then the library imported and the `holdfast` binary run
 * from that project's node_modules. Node refuses to strip types under node_modules, so this is what
 * catches an export, a worker or a file path that only works from the repository's .ts sources.
 * Installing the tarball's dependencies needs the npm registry (or a warm npm cache).
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);
/** The Node running this test (the pinned Node 24) first on PATH, for npm and `#!/usr/bin/env node`. */
const env = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` };

let dir = "";
let app = "";

// Packing builds dist/ (tsc) and installing fetches the dependencies: on a busy machine that can take
// longer than one test's budget (--test-timeout), so the hook has its own.
before(
  async () => {
    dir = mkdtempSync(join(tmpdir(), "holdfast-package-"));
    await run("npm", ["pack", "--pack-destination", dir], { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 });
    const tarball = readdirSync(dir).find((name) => name.endsWith(".tgz"));
    assert.ok(tarball, "npm pack wrote no tarball");
    app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    await run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", join(dir, tarball)], {
      cwd: app,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
  },
  { timeout: 300_000 },
);

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs an ES module script with this Node inside the installed app; answers its last stdout line as JSON. */
async function runInApp(script: string): Promise<unknown> {
  const file = join(app, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  const { stdout } = await run(process.execPath, [file], { cwd: app, env });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "null");
}

describe("the installed npm package", () => {
  test("ships compiled JavaScript and types, no TypeScript sources", () => {
    const pkg = join(app, "node_modules", "holdfast");
    const top = readdirSync(pkg).sort();
    assert.ok(top.includes("dist") && top.includes("bin") && top.includes("ui"), String(top));
    assert.ok(!top.includes("src") && !top.includes("test"), String(top));
    const dist = readdirSync(join(pkg, "dist"), { recursive: true }).map(String);
    assert.ok(dist.includes("index.js") && dist.includes("index.d.ts"));
    assert.deepEqual(
      dist.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
      [],
    );
    assert.deepEqual(
      dist.filter((f) => /\.test\.|test-support|test-helpers/.test(f)),
      [],
    );
    // tsc rewrites import specifiers, never a relative .ts path in a string (a Worker's URL): none may
    // be left, but bench.js's path to the repository-only bench/ (the command says it is missing).
    const tsPaths = dist
      .filter((f) => f.endsWith(".js"))
      .flatMap((f) =>
        [...readFileSync(join(pkg, "dist", f), "utf8").matchAll(/["'`](\.\.?\/[^"'`]*\.ts)["'`]/g)].map(
          (m) => `${f}: ${m[1]}`,
        ),
      );
    assert.deepEqual(tsPaths, ["cli/commands/bench.js: ../../../bench/run-all.ts"]);
  });

  test("every entry point imports; the framework adapters ask only for their framework", async () => {
    const result = await runInApp(`
      const entries = ["holdfast", "holdfast/store", "holdfast/server", "holdfast/client",
        "holdfast/client/file-storage", "holdfast/portable", "holdfast/openclaw",
        "holdfast/adapters/agents", "holdfast/adapters/ai-sdk",
        "holdfast/adapters/langchain", "holdfast/adapters/express-session", "holdfast/security",
        "holdfast/observability", "holdfast/dashboard", "holdfast/providers", "holdfast/config",
        "holdfast/mock-upstream"];
      const out = {};
      for (const entry of entries) {
        try { out[entry] = Object.keys(await import(entry)).length > 0 ? "ok" : "empty"; }
        catch (error) { out[entry] = error.code + " " + error.message.split("\\n")[0]; }
      }
      console.log(JSON.stringify(out));
    `);
    const imports = result as Record<string, string>;
    for (const entry of Object.keys(imports).filter((e) => !/langchain|express-session/.test(e))) {
      assert.equal(imports[entry], "ok", `${entry}: ${imports[entry]}`);
    }
    // Not dependencies of holdfast: the app installs the framework it uses.
    assert.match(imports["holdfast/adapters/langchain"] ?? "", /^ERR_MODULE_NOT_FOUND .*'@langchain\/core/);
    assert.match(
      imports["holdfast/adapters/express-session"] ?? "",
      /^ERR_MODULE_NOT_FOUND .*'express-session'/,
    );
  });

  test("a SQLite store appends and reads back, its checkpoint worker starting from dist/", async () => {
    const db = join(dir, "store.db");
    const result = await runInApp(`
      import { createStore } from "holdfast";
      const workers = [];
      process.on("worker", (worker) => {
        const seen = { error: null };
        worker.on("error", (error) => { seen.error = error.code + " " + error.message; });
        workers.push(seen);
      });
      const store = await createStore(${JSON.stringify(`sqlite:${db}`)});
      const session = await store.create("t1");
      await store.append("t1", session.id, [{ content: { type: "message", role: "user", content: [{ type: "input_text", text: "hello from npm" }] } }]);
      const items = await store.readItems("t1", session.id);
      await store.close();
      console.log(JSON.stringify({ text: items.map((i) => i.content.content[0].text), workers }));
    `);
    const { text, workers } = result as { text: string[]; workers: Array<{ error: string | null }> };
    assert.deepEqual(text, ["hello from npm"]);
    assert.ok(workers.length > 0, "no checkpoint worker started");
    assert.deepEqual(
      workers,
      workers.map(() => ({ error: null })),
    );
  });

  test("the holdfast binary prints its help, refuses bench, and serves the API and dashboard with the mock model", async () => {
    const bin = join(app, "node_modules", ".bin", "holdfast");
    const help = await run(bin, ["--help"], { cwd: app, env });
    assert.match(help.stdout, /Usage: holdfast/);
    // bench/ is TypeScript of the repository, not in the package: a clear refusal, not a crash.
    await assert.rejects(
      run(bin, ["bench", "store"], { cwd: app, env }),
      (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 3);
        assert.match(error.stderr ?? "", /not part of the installed package.*\[not_found\]/);
        return true;
      },
    );

    const child = spawn(bin, ["serve", "--port", "0", "--store", `sqlite:${join(dir, "serve.db")}`], {
      cwd: app,
      env,
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (d) => {
          stdout += d;
          const match = /listening on (http:\/\/\S+)/.exec(stdout);
          if (match?.[1]) resolve(match[1]);
        });
        void exited.then((code) => reject(new Error(`serve exited early (${code}): ${stderr}${stdout}`)));
      });
      const response = await fetch(`${url}/v1/responses`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "mock", input: "hello", store: true }),
      });
      const body = (await response.json()) as { status?: string };
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body.status, "completed");
      const dashboard = await fetch(`${url}/ui/`);
      assert.equal(dashboard.status, 200);
      assert.match(await dashboard.text(), /<html/i);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, stderr);
  });
});
