import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FRAMEWORKS = /^(@openai\/agents|ai$|ai\/|@langchain\/|express$|express-session$)/;

/**
 * Lists the framework packages resolved while importing `specifier` in a fresh process, from the
 * sources (the `holdfast-source` export condition; without it the package resolves to dist/).
 */
function frameworksLoadedBy(specifier: string): string[] {
  const script = `
    import { registerHooks } from "node:module";
    const seen = new Set();
    registerHooks({ resolve(spec, ctx, next) { seen.add(spec); return next(spec, ctx); } });
    await import(${JSON.stringify(specifier)});
    console.log(JSON.stringify([...seen].filter((s) => ${FRAMEWORKS}.test(s))));
  `;
  const result = spawnSync(
    process.execPath,
    ["--conditions=holdfast-source", "--input-type=module", "-e", script],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "[]") as string[];
}

describe("adapter isolation", () => {
  it("the main holdfast entry loads no framework package", () => {
    assert.deepEqual(frameworksLoadedBy("holdfast"), []);
  });

  it("each adapter subpath loads only its own framework", () => {
    assert.deepEqual(frameworksLoadedBy("holdfast/adapters/agents"), []); // types only
    assert.deepEqual(frameworksLoadedBy("holdfast/adapters/ai-sdk"), []); // types only
    const langchain = frameworksLoadedBy("holdfast/adapters/langchain");
    assert.ok(langchain.length > 0 && langchain.every((s) => s.startsWith("@langchain/")), String(langchain));
    assert.deepEqual(frameworksLoadedBy("holdfast/adapters/express-session"), ["express-session"]);
  });
});
