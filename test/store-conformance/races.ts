/**
 * Races between writes to one session id that other cases leave out. Each settles to an answer
 * some serial order of the same calls could give, and leaves nothing half-done behind: a session
 * that exists is listed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HoldfastError } from "../../src/store/errors.ts";
import { type ConformanceContext, message, rejectsWithCode } from "./index.ts";

function codeOf(outcome: PromiseSettledResult<unknown>): string {
  return outcome.status === "fulfilled" ? "ok" : String((outcome.reason as HoldfastError).code);
}

export function testRaceCases({ store, tenant }: ConformanceContext): void {
  describe("races", () => {
    it("a delete racing the re-creation of its id in the same millisecond: whatever exists is listed", async () => {
      const t = tenant();
      for (let round = 0; round < 8; round++) {
        const id = `conv_delrecreate${String(round).padStart(4, "0")}`;
        await store().create(t, { id, items: [message("user", "old")] });
        const [removal, creation] = await Promise.allSettled([
          store().delete(t, id),
          store().create(t, { id, state: { round } }),
        ]);
        assert.equal(codeOf(removal), "ok", `round ${round}`);
        const listed = (await store().list(t, { limit: 100 })).data.filter((s) => s.id === id);
        if (creation.status === "rejected") {
          // The create ran first and found the old session: the delete removed that one.
          assert.equal(codeOf(creation), "conflict");
          await rejectsWithCode(store().get(t, id), "not_found");
          assert.deepEqual(listed, [], `round ${round}`);
          continue;
        }
        const got = await store().get(t, id);
        assert.deepEqual([got.state, got.itemCount], [{ round }, 0]);
        assert.deepEqual(
          listed.map((s) => s.state),
          [{ round }],
          `round ${round}: the re-created session is listed`,
        );
      }
    });
  });
}
