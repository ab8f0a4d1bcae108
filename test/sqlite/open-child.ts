/**
 * Child process for the concurrent-open test: opens (creating and migrating if needed) the
 * given file at the same moment as its siblings, writes one session and prints its id.
 *
 * argv: <dbPath>
 */
import { createSessionStore } from "../../src/store/core.ts";
import { createSqliteDriver } from "../../src/store/drivers/sqlite.ts";

const [path] = process.argv.slice(2);
if (!path) throw new Error("usage: open-child.ts <db>");
const store = createSessionStore(createSqliteDriver({ path }));
const session = await store.create("open");
process.stdout.write(`${JSON.stringify({ created: session.id })}\n`);
await store.close();
