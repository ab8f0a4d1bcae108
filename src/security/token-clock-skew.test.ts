/**
 * Holdfast's own access tokens between instances whose clocks differ: one mints, the other
 * verifies. Without a tolerance the verifier whose clock runs ahead saw every token expire early,
 * a 401 the client cannot explain (its `expiresAt` still lay ahead).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SessionStore } from "../store/types.ts";
import { createSecurity } from "./create-security.ts";
import { TEST_STORES } from "./test-support.ts";

const AHEAD_MS = 5000;

for (const driver of TEST_STORES) {
  describe(`access tokens across skewed clocks (${driver.name})`, () => {
    let store: SessionStore;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await driver.open());
    });
    after(() => cleanup());

    it("a token minted on a clock 5 s behind lives its full lifetime on the verifier, then 30 s more at most", async () => {
      // Near real time: the store keeps signing keys on its own clock.
      const real = { now: Date.now() };
      const minter = createSecurity({ store, clock: () => real.now });
      const verifier = createSecurity({ store, clock: () => real.now + AHEAD_MS });
      const cached = await minter.accessTokens.mint("acme", { owner: "kim", ttlSeconds: 60 });
      const fresh = await minter.accessTokens.mint("acme", { owner: "kim", ttlSeconds: 60 });
      await verifier.accessTokens.verify(cached.token); // remembered: the cache's expiry check too

      // 58 s by the minter's clock, 2 s before the expiresAt it gave the client; 63 s for the verifier.
      real.now += 58_000;
      assert.ok(real.now / 1000 < cached.expiresAt);
      assert.equal((await verifier.accessTokens.verify(fresh.token)).owner, "kim");
      assert.equal((await verifier.accessTokens.verify(cached.token)).owner, "kim");

      // The tolerance is 30 s: past expiry plus that on the verifier's clock, both are refused.
      real.now += 60_000 + 30_000 - AHEAD_MS - 58_000 + 1000;
      await assert.rejects(verifier.accessTokens.verify(fresh.token), /expired/);
      await assert.rejects(verifier.accessTokens.verify(cached.token), /expired/);
    });

    it("accessTokenClockToleranceSeconds: 0 restores exact expiry; out of range is refused naming it", async () => {
      const real = { now: Date.now() };
      const minter = createSecurity({ store, clock: () => real.now });
      const strict = createSecurity({
        store,
        clock: () => real.now + AHEAD_MS,
        accessTokenClockToleranceSeconds: 0,
      });
      const { token } = await minter.accessTokens.mint("acme", { owner: "lee", ttlSeconds: 60 });
      real.now += 58_000;
      await assert.rejects(strict.accessTokens.verify(token), /expired/);
      for (const bad of [-1, 301, 1.5, Number.NaN]) {
        assert.throws(
          () => createSecurity({ store, accessTokenClockToleranceSeconds: bad }),
          (error: Error & { code?: string }) => {
            assert.equal(error.code, "invalid_argument");
            assert.match(
              error.message,
              /^accessTokenClockToleranceSeconds must be a whole number of seconds from 0 to 300/,
            );
            return true;
          },
        );
      }
    });
  });
}
