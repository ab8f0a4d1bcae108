/**
 * Appends for the Postgres driver, combined: the appends of concurrent callers queue up and go
 * as one `append_batch` call per batch — one transaction, one commit, one WAL flush for all of
 * them. At most APPEND_LANES batches are in flight: while Postgres runs one, Node settles the
 * previous and collects the next, so the two sides overlap instead of taking turns. A caller's
 * promise still settles only after the commit that holds its items. Alone, an append is a
 * single `append_items` call, so an idle store pays nothing for this.
 */
import type { DriverAppend, PreparedItem } from "../driver.ts";
import {
  ConflictError,
  conversationBusy,
  HoldfastError,
  SessionArchivedError,
  sessionNotFound,
  UnavailableError,
  versionConflict,
} from "../errors.ts";
import type { AppendResult, Item } from "../types.ts";
import { itemColumns, type Statements, toItem } from "./postgres-sql.ts";

type Row = Record<string, unknown>;
type Query = { name?: string; text: string; values?: unknown[] };

export interface AppenderOptions {
  /** Runs one statement on a pooled connection (errors already typed). */
  query: (query: Query) => Promise<Row[]>;
  /** Same, for reads that may be retried. */
  read: (query: Query) => Promise<Row[]>;
  /** Batches sent at once (at most one per pooled connection, so reads still get one). */
  maxInFlight: number;
  sql: Pick<Statements, "append" | "appendBatch" | "appendClaimed" | "appendClaimedBatch" | "itemsBySeq">;
}

interface Pending {
  tenant: string;
  id: string;
  items: PreparedItem[];
  options: DriverAppend;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export type { Query as AppenderQuery };

/** `expected_version` is an integer column; a larger expectation can never match (conflict). */
function clampInt(n: number | undefined): number | null {
  return n === undefined ? null : Math.min(n, 2_147_483_647);
}

/** Appends in one batch: enough to amortize a commit, small enough to keep latency flat. */
const MAX_BATCH = 64;
/**
 * Batches in flight at once, whatever the pool size. Two let Postgres work on one batch while
 * Node prepares the next and settles the last (overlap instead of alternation); more only
 * split the same appends into more, smaller commits.
 */
export const APPEND_LANES = 2;

/** Orders batches (lock order) and groups one session's appends. */
function sessionKey(p: Pending): string {
  return `${p.tenant}\u0000${p.id}`;
}

/** Appends already sorted by session key, as runs of one session each (order kept). */
function bySession(ordered: Pending[]): Pending[][] {
  const runs: Pending[][] = [];
  let key: string | undefined;
  for (const p of ordered) {
    const k = sessionKey(p);
    if (k !== key) runs.push([]);
    key = k;
    runs[runs.length - 1]!.push(p);
  }
  return runs;
}

function toItems(items: PreparedItem[], firstSeq: number): Item[] {
  return items.map((p, i) => ({
    seq: firstSeq + i,
    id: p.id,
    type: p.type,
    role: p.role,
    status: p.status,
    content: JSON.parse(p.contentJson),
    tokens: p.tokens,
    bytes: p.bytes,
    turnId: p.turnId,
    createdAt: p.createdAt,
  }));
}

export class PostgresAppender {
  readonly #o: AppenderOptions;
  #queue: Pending[] = [];
  #inFlight = 0;
  /**
   * Sessions with a batch in flight. Their later appends wait for it instead of taking the
   * other lane: sent side by side on two connections, they would race it for the session's
   * row lock and could commit before it (one caller's appends out of order).
   */
  readonly #busy = new Set<string>();
  #scheduled = false;
  #closed = false;
  #drained: (() => void) | null = null;
  #closing: Promise<void> | null = null;
  readonly #stats = { batches: 0, combined: 0 };

  constructor(options: AppenderOptions) {
    this.#o = options;
  }

  /** Batches of more than one append sent so far, and the appends they carried. */
  get stats(): { batches: number; combined: number } {
    return { ...this.#stats };
  }

  append(tenant: string, id: string, items: PreparedItem[], options: DriverAppend): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new UnavailableError("The Postgres store is closed."));
    return new Promise((resolve, reject) => {
      this.#queue.push({ tenant, id, items, options, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Pumps once the current tick's callers have all queued their appends (process.nextTick runs
   * after the promise jobs): sending the first arrival at once would make it a commit of its
   * own, and with 32 concurrent callers every free connection took one such lone append.
   */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  /**
   * Refuses new appends, sends the queued ones (even those queued in this tick, which would go
   * on the next) and resolves once every one of them settled: the driver's close() then ends
   * the pool, which would refuse them.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      this.#closed = true;
      this.#drained = resolve;
      this.#pump();
    });
    return this.#closing;
  }

  /** Shares what can go now evenly among the free lanes (at most MAX_BATCH appends each). */
  #pump(): void {
    while (this.#inFlight < this.#o.maxInFlight) {
      const batch = this.#take(this.#o.maxInFlight - this.#inFlight);
      if (batch.length === 0) break;
      const sessions = new Set(batch.map(sessionKey));
      for (const key of sessions) this.#busy.add(key);
      this.#inFlight += 1;
      void this.#send(batch).finally(() => {
        for (const key of sessions) this.#busy.delete(key);
        this.#inFlight -= 1;
        this.#schedule();
      });
    }
    if (this.#queue.length === 0 && this.#inFlight === 0) this.#drained?.();
  }

  /**
   * The next batch for one of `free` lanes: its share of the queued appends whose session has no
   * batch in flight, plus the later queued appends to the same sessions (up to MAX_BATCH): one
   * session's appends of a tick stay in one batch, in their order, instead of racing each other
   * on two lanes.
   */
  #take(free: number): Pending[] {
    const ready =
      this.#busy.size === 0 ? this.#queue : this.#queue.filter((p) => !this.#busy.has(sessionKey(p)));
    if (ready.length === 0) return [];
    const batch = ready.slice(0, Math.min(MAX_BATCH, Math.ceil(ready.length / free)));
    const sessions = new Set(batch.map(sessionKey));
    for (let i = batch.length; i < ready.length && batch.length < MAX_BATCH; i++) {
      if (sessions.has(sessionKey(ready[i]!))) batch.push(ready[i]!);
    }
    const taken = new Set(batch);
    this.#queue = this.#queue.filter((p) => !taken.has(p));
    return batch;
  }

  async #send(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      await this.#sendOne(batch[0]!);
      return;
    }
    // Lock order (tenant, id) for every batch everywhere: no two batches can wait on each other
    // in a cycle. The sort is stable, so appends to one session keep their arrival order.
    const ordered = [...batch].sort((a, b) => {
      const ka = sessionKey(a);
      const kb = sessionKey(b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    this.#stats.batches += 1;
    this.#stats.combined += batch.length;
    // A turn's claimed appends (its first and last writes) ride in append_claimed_batch, which
    // takes each append's claim (null holder: a plain append) before its usual arguments.
    const claimed = ordered.some((p) => p.options.claim !== undefined);
    let rows: Row[];
    try {
      const items = ordered.flatMap((p) => p.items);
      rows = await this.#o.query({
        name: claimed ? "hf_append_claimed_batch" : "hf_append_batch",
        text: claimed ? this.#o.sql.appendClaimedBatch : this.#o.sql.appendBatch,
        values: [
          ...(claimed
            ? [
                ordered.map((p) => p.options.claim?.holder ?? null),
                ordered.map((p) => p.options.claim?.until ?? null),
                ordered.map((p) => p.options.claim?.release ?? null),
              ]
            : []),
          ordered.map((p) => p.tenant),
          ordered.map((p) => p.id),
          ordered.map((p) => p.options.now),
          ordered.map((p) => clampInt(p.options.expectedVersion)),
          ordered.map((p) => p.options.operationId ?? null),
          ordered.map((p) => p.options.payloadHash),
          ordered.map((p) => p.items.length),
          ...itemColumns(items),
        ],
      });
    } catch (error) {
      // The batch rolled back as a whole. Unless the database is unreachable (then every caller
      // gets that error), redo each append alone so one failure stays with its caller. One
      // session's appends are redone one after another, in their order: sent side by side they
      // would race for the row lock on separate connections and could commit out of order.
      if (error instanceof HoldfastError && error.code === "unavailable") {
        for (const p of ordered) p.reject(error);
      } else {
        await Promise.all(
          bySession(ordered).map(async (appends) => {
            for (const p of appends) await this.#sendOne(p);
          }),
        );
      }
      return;
    }
    const byIndex = new Map(rows.map((r) => [r.idx as number, r]));
    await Promise.all(ordered.map((p, i) => this.#settle(p, byIndex.get(i + 1))));
  }

  async #sendOne(p: Pending): Promise<void> {
    const claim = p.options.claim;
    try {
      const rows = await this.#o.query({
        name: claim ? "hf_append_claimed" : "hf_append",
        text: claim ? this.#o.sql.appendClaimed : this.#o.sql.append,
        values: [
          ...(claim ? [claim.holder, claim.until, claim.release] : []),
          p.tenant,
          p.id,
          p.options.now,
          clampInt(p.options.expectedVersion),
          p.options.operationId ?? null,
          p.options.payloadHash,
          ...itemColumns(p.items),
        ],
      });
      await this.#settle(p, rows[0]);
    } catch (error) {
      p.reject(error);
    }
  }

  async #settle(p: Pending, row: Row | undefined): Promise<void> {
    try {
      p.resolve(await this.#result(p, row ?? {}));
    } catch (error) {
      p.reject(error);
    }
  }

  async #result(p: Pending, r: Row): Promise<AppendResult> {
    const version = r.version as number;
    const firstSeq = r.first_seq as number;
    const lastSeq = r.last_seq as number;
    switch (r.outcome) {
      case "ok":
        return { version, firstSeq, lastSeq, replayed: false, items: toItems(p.items, firstSeq) };
      case "replayed": {
        const rows = await this.#o.read({
          name: "hf_items_by_seq",
          text: this.#o.sql.itemsBySeq,
          values: [r.sid, firstSeq, lastSeq],
        });
        return { version, firstSeq, lastSeq, replayed: true, items: rows.map((x) => toItem(x)) };
      }
      case "busy":
        throw conversationBusy(p.id);
      case "archived":
        throw new SessionArchivedError(p.id);
      case "conflict":
        throw versionConflict(p.id, p.options.expectedVersion ?? 0, version);
      case "duplicate_item":
        throw new ConflictError(`An item id of this append already exists in session '${p.id}'.`, {
          param: "items.id",
        });
      case "idempotency_conflict":
        throw new ConflictError(
          `Operation id '${p.options.operationId}' was already used with a different payload.`,
          { param: "operation_id", code: "idempotency_conflict" },
        );
      default:
        throw sessionNotFound(p.id);
    }
  }
}
