/**
 * Child process for the kill -9 test: appends turns to one session as fast as it can (several
 * in flight) and prints `{"ack":…}` only after an append resolved. The parent SIGKILLs it
 * mid-stream and checks that every printed append survived.
 *
 * argv: <dbPath> <sessionId>
 */
import { createSessionStore } from "../../src/store/core.ts";
import { createSqliteDriver } from "../../src/store/drivers/sqlite.ts";

const [path, session] = process.argv.slice(2);
if (!path || !session) throw new Error("usage: crash-child.ts <db> <sessionId>");
const store = createSessionStore(createSqliteDriver({ path }));
let n = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (;;) {
      const text = `turn ${n++}`;
      const r = await store.append("crash", session, [
        { content: { type: "message", role: "user", content: text } },
      ]);
      process.stdout.write(`${JSON.stringify({ ack: { text, seq: r.firstSeq } })}\n`);
    }
  }),
);
