/**
 * The bodies of the SQLite driver's writes. Each runs synchronously inside the writer's
 * transaction and savepoint (sqlite-writer.ts), so its reads of versions and idempotency
 * records and its writes are one atomic step, whichever process commits first.
 */
import type { DriverAppend, DriverClaim, DriverWrite, PreparedItem, SessionChanges } from "../driver.ts";
import { ConflictError, conversationBusy, isHoldfastError, SessionArchivedError } from "../errors.ts";
import type { AppendResult, Session } from "../types.ts";
import {
  arrayToRow,
  type Cell,
  preparedToItem,
  rowToItem,
  rowToSession,
  type SessionHead,
  type SessionRow,
  SQL,
  sessionParams,
} from "./sqlite-rows.ts";
import { checkVersion, type SqliteStatements } from "./sqlite-statements.ts";

interface OperationRow {
  payload_hash: string;
  version: number;
  first_seq: number;
  last_seq: number;
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { errcode?: unknown }).errcode === 2067; // SQLITE_CONSTRAINT_UNIQUE
}

/** Synchronous bodies of every write; the writer runs each inside its transaction and savepoint. */
export class SqliteWrites {
  readonly #s: SqliteStatements;

  constructor(statements: SqliteStatements) {
    this.#s = statements;
  }

  /** Inserts items after `seq`/`cumTokens`; returns their bytes. A duplicate item id is a conflict. */
  #insertItems(
    rid: number,
    sessionId: string,
    items: PreparedItem[],
    seq: number,
    cumTokens: number,
  ): number {
    const insert = this.#s.get(SQL.insertItem);
    let bytes = 0;
    for (const p of items) {
      seq += 1;
      cumTokens += p.tokens;
      bytes += p.bytes;
      try {
        insert.run(
          rid,
          seq,
          p.id,
          p.type,
          p.role,
          p.status,
          p.callId,
          p.contentJson,
          p.tokens,
          cumTokens,
          p.bytes,
          p.turnId,
          p.createdAt,
        );
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw new ConflictError(`Item id '${p.id}' already exists in session '${sessionId}'.`, {
          param: "items.id",
          cause: error,
        });
      }
    }
    return bytes;
  }

  #insertSession(session: Session, itemBytes: number): number {
    try {
      return Number(
        this.#s.get(SQL.insertSession).run(...sessionParams(session, { itemBytes })).lastInsertRowid,
      );
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new ConflictError(`A session with id '${session.id}' already exists.`, {
        param: "id",
        cause: error,
      });
    }
  }

  #sessionByRid(rid: number): Session {
    return rowToSession(arrayToRow(this.#s.arrays(SQL.sessionByRid).get(rid) as unknown as Cell[]));
  }

  create(session: Session, items: PreparedItem[]): Session {
    let tokens = 0;
    let bytes = 0;
    for (const p of items) {
      tokens += p.tokens;
      bytes += p.bytes;
    }
    const version = session.version + (items.length > 0 ? 1 : 0);
    const rid = this.#insertSession(
      { ...session, itemCount: items.length, lastSeq: items.length, tokenCount: tokens, version },
      bytes,
    );
    this.#insertItems(rid, session.id, items, 0, 0);
    return this.#sessionByRid(rid);
  }

  update(tenant: string, id: string, c: SessionChanges, write: DriverWrite): Session {
    const row = this.#s.visibleRow(tenant, id, write.now);
    checkVersion(row, write.expectedVersion);
    const updated = this.#s
      .get(SQL.updateSession)
      .get(
        c.owner !== undefined ? c.owner : row.owner,
        c.metadata !== undefined ? JSON.stringify(c.metadata) : row.metadata,
        c.labels !== undefined ? JSON.stringify(c.labels) : row.labels,
        c.state !== undefined ? JSON.stringify(c.state) : row.state,
        c.idleTtlMs !== undefined ? c.idleTtlMs : row.idle_ttl_ms,
        c.expiresAt !== undefined ? c.expiresAt : row.expires_at,
        c.pinned !== undefined ? Number(c.pinned) : row.pinned,
        c.status !== undefined ? c.status : row.status,
        write.now,
        row.rid,
      ) as unknown as SessionRow;
    return rowToSession(updated);
  }

  delete(tenant: string, id: string, write: DriverWrite): void {
    const head = this.#s.head(tenant, id, write.now);
    checkVersion(head, write.expectedVersion);
    this.#s.get(SQL.deleteItems).run(head.rid);
    this.#s.get(SQL.deleteOperations).run(head.rid);
    this.#s.get(SQL.deleteSession).run(head.rid);
  }

  append(tenant: string, id: string, items: PreparedItem[], options: DriverAppend): AppendResult {
    const head = this.#s.appendHead(tenant, id, options.now);
    const claim = options.claim;
    // Another holder's unexpired claim refuses the append before anything is written.
    if (
      claim &&
      head.claim_holder !== null &&
      head.claim_holder !== claim.holder &&
      (head.claim_until ?? 0) > options.now
    ) {
      throw conversationBusy(id);
    }
    const opId = options.operationId;
    if (opId !== undefined) {
      const done = this.#s.get(SQL.operation).get(head.rid, opId) as OperationRow | undefined;
      if (done) {
        const replayed = this.#replay(head, opId, done, options.payloadHash);
        if (claim) this.#setClaim(head.rid, claim);
        return replayed;
      }
    }
    if (head.status === "archived") throw new SessionArchivedError(id);
    checkVersion(head, options.expectedVersion);
    const firstSeq = head.item_count + 1;
    const lastSeq = head.item_count + items.length;
    let tokens = head.token_count;
    for (const p of items) tokens += p.tokens;
    const bytes = this.#insertItems(head.rid, id, items, head.item_count, head.token_count);
    const version = head.version + 1;
    const itemBytes = head.item_bytes + bytes;
    if (claim) {
      // Released by the turn's last append: holder and expiry both cleared.
      const holder = claim.release ? null : claim.holder;
      const until = claim.release ? null : claim.until;
      this.#s
        .get(SQL.bumpAfterClaimedAppend)
        .run(version, lastSeq, tokens, itemBytes, options.now, options.now, holder, until, head.rid);
    } else {
      this.#s
        .get(SQL.bumpAfterAppend)
        .run(version, lastSeq, tokens, itemBytes, options.now, options.now, head.rid);
    }
    if (opId !== undefined) {
      this.#s
        .get(SQL.insertOperation)
        .run(head.rid, opId, options.payloadHash, version, firstSeq, lastSeq, options.now);
    }
    const result = items.map((p, i) => preparedToItem(p, firstSeq + i));
    return { version, firstSeq, lastSeq, replayed: false, items: result };
  }

  #setClaim(rid: number, claim: DriverClaim): void {
    if (claim.release) this.#s.get(SQL.setClaim).run(null, null, rid);
    else this.#s.get(SQL.setClaim).run(claim.holder, claim.until, rid);
  }

  renewClaim(tenant: string, id: string, holder: string, until: number, now: number): boolean {
    let rid: number;
    try {
      rid = this.#s.head(tenant, id, now).rid;
    } catch (error) {
      if (isHoldfastError(error) && error.code === "not_found") return false;
      throw error;
    }
    return Number(this.#s.get(SQL.renewClaim).run(until, rid, holder).changes) > 0;
  }

  releaseClaim(tenant: string, id: string, holder: string): void {
    this.#s.get(SQL.releaseClaim).run(tenant, id, holder);
  }

  #replay(head: SessionHead, opId: string, done: OperationRow, payloadHash: string): AppendResult {
    if (done.payload_hash !== payloadHash) {
      throw new ConflictError(`Operation id '${opId}' was already used with a different payload.`, {
        param: "operation_id",
        code: "idempotency_conflict",
      });
    }
    const rows = this.#s
      .arrays(SQL.itemsAsc)
      .all(
        head.rid,
        done.first_seq - 1,
        done.last_seq + 1,
        done.last_seq - done.first_seq + 1,
      ) as unknown as Cell[][];
    return {
      version: done.version,
      firstSeq: done.first_seq,
      lastSeq: done.last_seq,
      replayed: true,
      items: rows.map(rowToItem),
    };
  }

  /** Copies the parent's items 1..atSeq into a new session in this transaction. */
  fork(tenant: string, parentId: string, atSeq: number, child: Session, now: number): Session {
    const parent = this.#s.head(tenant, parentId, now);
    if (atSeq > parent.item_count) {
      throw new ConflictError(`Session '${parentId}' has no seq ${atSeq}.`, { param: "at_seq" });
    }
    const totals = this.#s.get(SQL.prefixTotals).get(parent.rid, atSeq) as {
      tokens: number;
      bytes: number;
      count: number;
    };
    const rid = this.#insertSession(
      { ...child, itemCount: totals.count, lastSeq: atSeq, tokenCount: totals.tokens },
      totals.bytes,
    );
    this.#s.get(SQL.copyPrefix).run(rid, parent.rid, atSeq);
    return this.#sessionByRid(rid);
  }

  touch(tenant: string, id: string, now: number): Session {
    const head = this.#s.head(tenant, id, now);
    return rowToSession(this.#s.get(SQL.touch).get(now, head.rid) as unknown as SessionRow);
  }
}
