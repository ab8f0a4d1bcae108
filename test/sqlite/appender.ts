/**
 * Child process for the multi-process SQLite test. Appends `count` turns, spread over the given
 * sessions, to the same database file as its siblings, and prints one JSON line per
 * acknowledged append (`{"ack":…}`), per conflict, and a final summary.
 *
 * argv: <dbPath> <worker> <count> <mode: plain|versioned> <sessionId,…>
 *   plain      no expectedVersion; an operation id per append, retried with the same id on `unavailable`
 *   versioned  read the head, append with expectedVersion + operation id, re-read and retry on `conflict`
 */
import { createSessionStore } from "../../src/store/core.ts";
import { createSqliteDriver } from "../../src/store/drivers/sqlite.ts";
import type { HoldfastError } from "../../src/store/errors.ts";

const [path, worker, countArg, mode, sessionList] = process.argv.slice(2);
if (!path || !worker || !countArg || !mode || !sessionList)
  throw new Error("usage: appender.ts <db> <worker> <count> <mode> <ids>");
const sessions = sessionList.split(",");
const store = createSessionStore(createSqliteDriver({ path, busyDeadlineMs: 20_000 }));
const TENANT = "mp";
const out = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

let conflicts = 0;
let unavailable = 0;

async function appendOne(n: number): Promise<void> {
  const session = sessions[n % sessions.length]!;
  const op = `w${worker}-${n}`;
  const items = [
    { content: { type: "message", role: "user", content: [{ type: "input_text", text: `${op} q` }] } },
    { content: { type: "message", role: "assistant", content: [{ type: "output_text", text: `${op} a` }] } },
  ];
  for (;;) {
    try {
      const expectedVersion = mode === "versioned" ? (await store.get(TENANT, session)).version : undefined;
      const r = await store.append(TENANT, session, items, { operationId: op, expectedVersion });
      out({
        ack: {
          op,
          session,
          firstSeq: r.firstSeq,
          lastSeq: r.lastSeq,
          version: r.version,
          replayed: r.replayed,
        },
      });
      return;
    } catch (error) {
      const code = (error as HoldfastError).code;
      if (code === "conflict" && mode === "versioned") {
        conflicts += 1;
        continue;
      }
      if (code === "unavailable") {
        unavailable += 1;
        continue;
      }
      out({ error: { op, code, message: (error as Error).message } });
      return;
    }
  }
}

// A few appends in flight at once, so this process also exercises its own group commit.
const count = Number(countArg);
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < count) await appendOne(next++);
  }),
);
// A stale expectedVersion must fail with `conflict` whatever the other processes did.
try {
  await store.append(
    TENANT,
    sessions[0]!,
    [{ content: { type: "message", role: "user", content: "stale" } }],
    {
      expectedVersion: 1,
    },
  );
  out({ stale: "accepted" });
} catch (error) {
  out({ stale: (error as HoldfastError).code });
}
out({ done: { conflicts, unavailable } });
await store.close();
