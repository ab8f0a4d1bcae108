/**
 * The CLI opens its stores as `holdfast serve` does (store-flags.ts openStore): an item the CLI
 * writes without a count gets the count serve would store for it, not the store's bytes / 4
 * estimate. Run through the real binary (`holdfast openclaw import`: transcripts carry no counts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createHoldfastApp } from "../app.ts";
import { testServerConfig } from "../config/test-server-config.ts";
import { copyFixture } from "../interop/openclaw/test-fixture.ts";
import { estimateTokens } from "../store/tokens.ts";
import { runCli } from "./cli-helpers.ts";

describe("the CLI's token counts", () => {
  let fx: ReturnType<typeof copyFixture>;
  let store: string;
  before(() => {
    fx = copyFixture();
    store = `sqlite:${join(fx.dir, "..", "holdfast.db")}`;
  });
  after(() => fx.cleanup());

  it("an item imported by the CLI is stored with the count serve gives the same item", async () => {
    const run = await runCli(["openclaw", "import", fx.dir, "--store", store, "--json"]);
    // Exit 1: the fixture names one session whose transcript is missing; the others are imported.
    assert.equal(run.code, 1, run.stderr);
    const { totals } = JSON.parse(run.stdout);
    assert.deepEqual([totals.failed, totals.missing, totals.itemsWritten > 100], [0, 1, true]);
    // The same store as serve opens it; the same contents appended through it, without counts.
    const holdfast = await createHoldfastApp({ config: testServerConfig({ store }), env: {} });
    try {
      const { data: sessions } = await holdfast.store.list("default", { limit: 100 });
      assert.ok(sessions.length > 0);
      let differs = 0;
      for (const { id } of sessions) {
        const imported = await holdfast.store.readItems("default", id);
        const copy = await holdfast.store.create("default", {
          items: imported.map((item) => ({ content: item.content })),
        });
        const served = await holdfast.store.readItems("default", copy.id);
        assert.deepEqual(
          imported.map((item) => item.tokens),
          served.map((item) => item.tokens),
          `session ${id}`,
        );
        differs += imported.filter((item) => item.tokens !== estimateTokens(item.content)).length;
      }
      // Serve's counter is not the default estimate on these items, so the comparison can tell.
      assert.ok(differs > 0);
    } finally {
      await holdfast.close();
    }
  });
});
