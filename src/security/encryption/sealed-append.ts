/**
 * `withEncryption`'s append, sealing each item for the seq the store will give it (the seq is in
 * its associated data, content-crypto.ts). The driver numbers items `lastSeq + 1…` only when it
 * writes them, after the decorator sealed them, so the append names the session version the
 * seqs were worked out at (`expectedVersion`): a store that moved on in between refuses it,
 * writing nothing, and the append is sealed again at the new head and retried (bounded), so a
 * caller that gave no version sees no conflict it did not see before.
 *
 * The head costs no round trip in the steady state: it is kept per session from this process's
 * own writes (an append's result, a state patch or update that appended nothing) and trusted
 * only while the session's own data key is the one it was kept with (a session deleted and
 * created again under the same id has another key). A missing or stale head is read: `head()`,
 * then the newest item, whose sealed seq may be above its own in a copy that closed the gaps of
 * deleted items (new items must be sealed past it to keep the sealed order).
 *
 * Retries with an operation id seal deterministically, so a retry at the same head replays. One
 * that arrives after the first attempt committed (the head moved on) seals for other seqs and
 * hashes differently: the store answers `idempotency_conflict`, the first attempt's seqs are read
 * off its first item, and the append is sealed again for them and sent once more under version 0
 * (no session is at it): the store replays it (the operation id is checked before the version),
 * and can never append items sealed for seqs behind the session's end.
 */
import { readHead } from "../../store/decorators/delegating-store.ts";
import { isHoldfastError, versionConflict } from "../../store/errors.ts";
import type { AppendOptions, AppendResult, ItemInput, SessionStore } from "../../store/types.ts";
import { ENC_FIELD, sealedSeqOf } from "./content-crypto.ts";
import type { SealedText } from "./item-sealing.ts";

/**
 * Attempts of an append after version conflicts the caller did not ask for, at most: among N
 * appenders racing on one session each round lands one, so the last needs N attempts.
 */
const MAX_ATTEMPTS = 100;
/** Sessions whose head is kept, at most (least recently used go first). */
const MAX_HEADS = 10_000;

/** Where a session's next append goes. */
export interface AppendHead {
  /** The version these seqs hold at (the append's expectedVersion). */
  version: number;
  /** The store numbers the next item `lastSeq + 1`. */
  lastSeq: number;
  /** New items are sealed for `sealAfter + 1…`: `lastSeq`, or above in a copy (see the file comment). */
  sealAfter: number;
}

/** Heads of sessions this process wrote, each valid with the session data key it was kept with. */
export class AppendHeads {
  readonly #entries = new Map<string, { key: Buffer; head: AppendHead }>();

  #name(tenant: string, id: string): string {
    return `${tenant}\u0000${id}`;
  }

  get(tenant: string, id: string, key: Buffer): AppendHead | undefined {
    const entry = this.#entries.get(this.#name(tenant, id));
    return entry?.key === key ? entry.head : undefined;
  }

  set(tenant: string, id: string, key: Buffer, head: AppendHead): void {
    const name = this.#name(tenant, id);
    this.#entries.delete(name);
    if (this.#entries.size >= MAX_HEADS) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(name, { key, head });
  }

  /** After a write that appended nothing (same last seq, newer version): the kept head moves on. */
  advance(tenant: string, id: string, session: { version: number; lastSeq: number }): void {
    const entry = this.#entries.get(this.#name(tenant, id));
    if (!entry || entry.head.lastSeq !== session.lastSeq || session.version <= entry.head.version) return;
    entry.head = { ...entry.head, version: session.version };
  }

  drop(tenant: string, id: string): void {
    this.#entries.delete(this.#name(tenant, id));
  }
}

/** The session's head as stored, with where new items must be sealed after. */
export async function readAppendHead(inner: SessionStore, tenant: string, id: string): Promise<AppendHead> {
  const head = await readHead(inner, tenant, id);
  let sealAfter = head.lastSeq;
  if (head.itemCount > 0) {
    // Read after the head: an append in between moves the version, and the append conflicts.
    const [newest] = await inner.readItems(tenant, id, { order: "desc", limit: 1 });
    const blob = newest?.content[ENC_FIELD];
    const sealed = typeof blob === "string" ? sealedSeqOf(blob) : null;
    if (sealed !== null && sealed > sealAfter) sealAfter = sealed;
  }
  return { version: head.version, lastSeq: head.lastSeq, sealAfter };
}

/** Seals the append's items for seqs after `afterSeq`, filling `sealedTexts`. */
export type Sealing = (afterSeq: number, sealedTexts: (SealedText | undefined)[]) => ItemInput[];

function hasCode(error: unknown, code: string, param?: string): boolean {
  return isHoldfastError(error) && error.code === code && (param === undefined || error.param === param);
}

/**
 * Where an earlier attempt of this append put its items (the seq they follow), read off the first
 * of them still stored (item ids are derived from the operation id); null when that is not known
 * (all deleted since, or sealed without a seq by an earlier release).
 */
async function earlierAttempt(
  inner: SessionStore,
  tenant: string,
  id: string,
  sealedTexts: readonly (SealedText | undefined)[],
): Promise<number | null> {
  for (let index = 0; index < sealedTexts.length; index++) {
    const sealed = sealedTexts[index];
    if (!sealed) continue;
    let blob: unknown;
    try {
      blob = (await inner.getItem(tenant, id, sealed.id)).content[ENC_FIELD];
    } catch (error) {
      if (hasCode(error, "not_found")) continue;
      throw error;
    }
    const seq = typeof blob === "string" ? sealedSeqOf(blob) : null;
    return seq === null ? null : seq - 1 - index;
  }
  return null;
}

/** A short random pause before another attempt, so racing appenders do not retry in lockstep. */
function pause(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(20, attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Seals (`sealing`) and appends the items where the store will number them; see the file
 * comment. `key` is the session's own data key, which the kept head is bound to.
 */
export async function appendSealed(
  inner: SessionStore,
  heads: AppendHeads,
  tenant: string,
  id: string,
  key: Buffer,
  options: AppendOptions,
  sealing: Sealing,
): Promise<{ result: AppendResult; sealedTexts: (SealedText | undefined)[] }> {
  const asked = options.expectedVersion;
  let head = heads.get(tenant, id, key);
  if (head === undefined || (asked !== undefined && head.version !== asked)) {
    head = await readAppendHead(inner, tenant, id);
    // A version the session has not reached yet could be reached before the append lands, which
    // would then number items after seqs this head does not know: it is a conflict as of now.
    if (typeof asked === "number" && Number.isSafeInteger(asked) && asked > head.version) {
      throw versionConflict(id, asked, head.version);
    }
  }
  const operationId = options.operationId;
  let replayAfter: number | undefined;
  let refused: unknown;
  for (let attempt = 1; ; attempt++) {
    const sealedTexts: (SealedText | undefined)[] = [];
    const afterSeq = replayAfter ?? head.sealAfter;
    const items = sealing(afterSeq, sealedTexts);
    // The caller's version is kept; at an older one the store can only replay or conflict.
    const expectedVersion = replayAfter !== undefined ? 0 : (asked ?? head.version);
    try {
      const result = await inner.append(tenant, id, items, { ...options, expectedVersion });
      if (!result.replayed) {
        const sealAfter = Math.max(result.lastSeq, afterSeq + result.items.length);
        heads.set(tenant, id, key, { version: result.version, lastSeq: result.lastSeq, sealAfter });
      }
      return { result, sealedTexts };
    } catch (error) {
      if (replayAfter === undefined && operationId !== undefined && hasCode(error, "idempotency_conflict")) {
        const earlier = await earlierAttempt(inner, tenant, id, sealedTexts);
        if (earlier !== null && earlier !== afterSeq) {
          replayAfter = earlier;
          refused = error;
          continue;
        }
      }
      // The earlier attempt's operation record is gone (nothing replays): its refusal stands.
      if (replayAfter !== undefined && hasCode(error, "conflict", "expected_version")) throw refused;
      const moved = hasCode(error, "conflict", "expected_version");
      if (moved) heads.drop(tenant, id);
      if (moved && asked === undefined && replayAfter === undefined && attempt < MAX_ATTEMPTS) {
        if (attempt > 1) await pause(attempt);
        head = await readAppendHead(inner, tenant, id);
        continue;
      }
      throw error;
    }
  }
}
