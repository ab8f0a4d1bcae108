/**
 * The registry of the Redis driver's Lua scripts: each is PRELUDE (redis-script-prelude.ts) plus
 * one operation from redis-{append,copy,session,read}-scripts.ts. Each mutation is one script, so
 * version check, idempotency record, item append, counters and key expiry commit together or not
 * at all.
 * Every script receives the five keys of one session (same hash slot) as KEYS[1..5]:
 * meta (hash), items (list, index = seq - 1), cum (zset: zero-padded seq scored by the
 * running token total), ids (hash item id → seq), ops (hash operation id → result).
 *
 * Scripts never read Redis' clock: `now` comes from the core (ARGV[1]) and decides
 * visibility exactly like drivers/shared.ts. Native expiry is set relative to that `now`
 * (deadline - now + grace), so it follows the session's idle/absolute TTL whatever the skew
 * between the app's clock and Redis'. Replies start with a status string the driver maps to
 * typed errors: ok | nf (not found) | ver (version moved) | dup (item id taken) |
 * idem (operation id reused with another payload) | exists | nif (no such item) | replay.
 */
import {
  APPEND,
  APPEND_BATCH,
  APPEND_CLAIMED,
  APPEND_CLAIMED_BATCH,
  APPEND_CLAIMED_FN,
  APPEND_ONE,
  CLAIM_RELEASE,
  CLAIM_RENEW,
} from "./redis-append-scripts.ts";
import {
  CREATE,
  FORK_DONE,
  FORK_FILL,
  FORK_READ,
  REPLICA_APPEND,
  REPLICA_PUT,
} from "./redis-copy-scripts.ts";
import { GET_ITEM, READ_ITEMS, WINDOW } from "./redis-read-scripts.ts";
import { PRELUDE } from "./redis-script-prelude.ts";
import { DELETE, DELETE_ITEMS, TOUCH, UPDATE } from "./redis-session-scripts.ts";

/** Script name → Lua source (prelude included). All take the five session keys. */
export const SCRIPTS = Object.freeze({
  hfCreate: PRELUDE + CREATE,
  hfAppend: PRELUDE + APPEND_ONE + APPEND,
  hfAppendClaimed: PRELUDE + APPEND_ONE + APPEND_CLAIMED_FN + APPEND_CLAIMED,
  hfClaimRenew: PRELUDE + CLAIM_RENEW,
  hfClaimRelease: PRELUDE + CLAIM_RELEASE,
  hfUpdate: PRELUDE + UPDATE,
  hfDelete: PRELUDE + DELETE,
  hfTouch: PRELUDE + TOUCH,
  hfReadItems: PRELUDE + READ_ITEMS,
  hfGetItem: PRELUDE + GET_ITEM,
  hfDeleteItems: PRELUDE + DELETE_ITEMS,
  hfWindow: PRELUDE + WINDOW,
  hfForkRead: PRELUDE + FORK_READ,
  hfForkFill: PRELUDE + FORK_FILL,
  hfForkDone: PRELUDE + FORK_DONE,
  hfReplicaPut: PRELUDE + REPLICA_PUT,
  hfReplicaAppend: PRELUDE + REPLICA_APPEND,
});

export type ScriptName = keyof typeof SCRIPTS;

/** The batched append: its key count varies (5 per append), so it is defined without one. */
export const APPEND_BATCH_SCRIPT = PRELUDE + APPEND_ONE + APPEND_BATCH;

/** The batched append of a tick with claimed appends (each append led by its claim triple). */
export const APPEND_CLAIMED_BATCH_SCRIPT = PRELUDE + APPEND_ONE + APPEND_CLAIMED_FN + APPEND_CLAIMED_BATCH;

/** Keys every script declares (KEYS[1..5]). */
export const SCRIPT_KEY_COUNT = 5;
