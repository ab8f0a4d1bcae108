import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ItemInput } from "../../src/store/types.ts";
import { type ConformanceContext, message } from "./index.ts";

/** A PNG data URL of the given pixel size, padded to about `bytes` of base64 (a phone photo). */
export function pngDataUrl(width: number, height: number, bytes: number): string {
  const png = Buffer.alloc(Math.ceil((bytes * 3) / 4), 0x5a);
  png.writeUInt32BE(0x89504e47, 0);
  png.writeUInt32BE(0x0d0a1a0a, 4);
  png.writeUInt32BE(13, 8);
  png.write("IHDR", 12, "latin1");
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  return `data:image/png;base64,${png.toString("base64")}`;
}

/**
 * Token counts of media: the store's default estimate (and any model counter) prices an image by
 * what a model reads, not by its base64 — else one photo fills any window and everything before
 * it drops out of the agent's history.
 */
export function testMediaCases({ store, tenant }: ConformanceContext): void {
  describe("media token counts", () => {
    it("counts a 700 KB image far below its JSON size / 4; an 8,000-token window keeps it and its neighbours", async () => {
      const t = tenant();
      const s = await store().create(t);
      const photo: ItemInput = {
        content: {
          type: "message",
          role: "user",
          content: [
            { type: "input_text", text: "What is in this photo?" },
            { type: "input_image", image_url: pngDataUrl(1024, 768, 700_000) },
          ],
        },
      };
      await store().append(t, s.id, [message("user", "Hello"), photo, message("assistant", "A cat.")]);
      const items = await store().readItems(t, s.id);
      const jsonEstimate = Buffer.byteLength(JSON.stringify(photo.content)) / 4;
      assert.ok(jsonEstimate > 170_000);
      const tokens = items[1]?.tokens ?? Number.NaN;
      assert.ok(
        tokens > 0 && tokens < 2_000,
        `the photo counts ${tokens} tokens (JSON / 4: ${jsonEstimate})`,
      );
      const window = await store().readWindow(t, s.id, { maxTokens: 8_000 });
      assert.deepEqual(
        window.items.map((i) => i.seq),
        [1, 2, 3],
      );
      assert.equal(window.truncated, false);
    });
  });
}
