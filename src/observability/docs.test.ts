import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createMetrics } from "./create-metrics.ts";

const DOCS = join(import.meta.dirname, "..", "..", "docs");

async function registered(): Promise<Set<string>> {
  const metrics = createMetrics();
  const json = await metrics.registry.getMetricsAsJSON();
  return new Set(json.map((m) => m.name));
}

function referenced(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/holdfast_[a-z0-9_]+/g)) {
    names.add(match[0].replace(/_(bucket|count|sum)$/, ""));
  }
  return names;
}

test("every metric the Grafana dashboard queries exists", async () => {
  const known = await registered();
  const dashboard = readFileSync(join(DOCS, "grafana-dashboard.json"), "utf8");
  JSON.parse(dashboard);
  const missing = [...referenced(dashboard)].filter((name) => !known.has(name));
  assert.deepEqual(missing, []);
});

test("docs/observability.md documents every Holdfast metric", async () => {
  const doc = readFileSync(join(DOCS, "observability.md"), "utf8");
  const own = [...(await registered())].filter((n) => !/^holdfast_(nodejs|process)_/.test(n));
  const undocumented = own.filter((name) => !doc.includes(`\`${name}\``));
  assert.deepEqual(undocumented, []);
});
