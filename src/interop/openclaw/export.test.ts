/**
 * `exportTranscript` of a session the lifecycle archived: its items are in the archive backend,
 * and a transcript holding only the header would lose them silently.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createDirectoryArchiveBackend } from "../../lifecycle/archive-files.ts";
import { createArchiver } from "../../lifecycle/archiver.ts";
import { createStore } from "../../store/create-store.ts";
import { exportTranscript } from "./export.ts";
import { parseTranscriptText } from "./transcript.ts";

const say = (text: string) => ({ content: { type: "message", role: "user", content: text } });

async function collect(run: (out: PassThrough) => Promise<unknown>): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  await run(out);
  return Buffer.concat(chunks).toString("utf8");
}

describe("exportTranscript of an archived session", () => {
  it("reads its items from the archive, or refuses without writing anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "oc-export-archived-"));
    const store = await createStore("memory:");
    const backend = createDirectoryArchiveBackend(dir);
    try {
      const { id } = await store.create("default", { items: ["a", "b"].map(say) });
      assert.equal((await createArchiver(store, { backend }).archive("default", id)).archived, true);

      const text = await collect((out) =>
        exportTranscript(store, "default", id, out, { readArchive: (t, i) => backend.read(t, i) }),
      );
      const parsed = await parseTranscriptText(text);
      assert.deepEqual(
        parsed.entries.map((e) => (e.data.message as { content: { text: string }[] }).content[0]!.text),
        ["a", "b"],
      );

      // Without readArchive: a conflict, and not even the header reaches the writable.
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on("data", (c: Buffer) => chunks.push(c));
      await assert.rejects(exportTranscript(store, "default", id, out), { code: "conflict" });
      assert.equal(Buffer.concat(chunks).length, 0);
    } finally {
      await backend.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("exportTranscript of inline images", () => {
  it("exports data: URLs with media type parameters or percent-encoding as image blocks", async () => {
    const store = await createStore("memory:");
    try {
      const png = Buffer.from("\x89PNG fake").toString("base64");
      const image = (url: string) => ({ type: "input_image", image_url: url });
      const { id } = await store.create("default", {
        items: [
          {
            content: {
              type: "message",
              role: "user",
              content: [
                image(`data:image/png;name=x.png;base64,${png}`),
                image("data:image/svg+xml,%3Csvg%2F%3E"),
                image(`data:image/png;base64,${png}`),
              ],
            },
          },
        ],
      });
      const parsed = await parseTranscriptText(
        await collect((out) => exportTranscript(store, "default", id, out)),
      );
      const blocks = (
        parsed.entries[0]!.data.message as { content: { type: string; data?: string; mimeType?: string }[] }
      ).content;
      assert.deepEqual(blocks, [
        { type: "image", data: png, mimeType: "image/png" },
        { type: "image", data: Buffer.from("<svg/>").toString("base64"), mimeType: "image/svg+xml" },
        { type: "image", data: png, mimeType: "image/png" },
      ]);
    } finally {
      await store.close();
    }
  });
});
