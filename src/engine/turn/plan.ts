/**
 * Decides where a turn lives: a named conversation; the session of `previous_response_id`
 * (continued when the response is its newest stored item — items deleted after it do not count —,
 * forked at the response otherwise); a new
 * session of its own; or nowhere (`store: false`). With an idempotency key every id involved is
 * derived from the key (per tenant and end user), so a retried turn lands in the same place and
 * finds its first result. A session the turn creates or forks belongs to the caller's end user.
 * A caller scoped to one conversation (a conversation-scoped token) may only write to that one:
 * a turn that would create or fork a session is refused before anything is written.
 */
import { createHash } from "node:crypto";
import { PermissionDeniedError } from "../../security/errors.ts";
import { NotFoundError } from "../../store/errors.ts";
import type { Item, Session, SessionStore } from "../../store/types.ts";
import { RECORD_TYPE } from "./record.ts";
import type { ParsedResponseRequest } from "./request.ts";
import { newResponseId, responseIdForKey, sessionOfResponse } from "./response-ids.ts";
import { checkStoredCalls, rejectWithoutHistory, unmatchedOutputs } from "./tool-pairs.ts";

/** Sessions created for responses without a conversation carry this label. */
export const RESPONSES_LABEL = "hf.responses";

export interface TurnPlan {
  tenant: string;
  request: ParsedResponseRequest;
  /** Where the turn is stored; null for `store: false` without history. */
  sessionId: string | null;
  /** Whether input and output are written. */
  persist: boolean;
  /** For `store: false` continuing a response: read history only up to this seq. */
  historyUntilSeq: number | null;
  responseId: string;
  operationIds: { input?: string; output?: string };
  /**
   * Continuing `previous_response_id` in place: the session version the plan saw. The input
   * append expects it, so a turn that queued behind another one on the same response does not
   * append after that one's output (the engine plans it again, and it forks).
   */
  continuesVersion?: number;
}

/**
 * Hex, because derived ids embed it where the id formats expect hex. Per end user: two users of a
 * tenant sending the same key must not land on each other's turn. Without an owner (API keys) it
 * is the hash it always was, so retries spanning an upgrade still replay; the owner's form has one
 * more separator, and keys and tenants carry no NUL, so the two forms never meet.
 */
function keyHash(tenant: string, owner: string | null, key: string): string {
  const input = owner === null ? `${tenant}\u0000${key}` : `${tenant}\u0000${owner}\u0000${key}`;
  return createHash("sha256").update(input).digest("hex");
}

async function previousRecord(store: SessionStore, tenant: string, responseId: string): Promise<Item> {
  const sessionId = sessionOfResponse(responseId);
  const notFound = () =>
    new NotFoundError(`Previous response with id '${responseId}' not found.`, {
      param: "previous_response_id",
    });
  const record = await store.getItem(tenant, sessionId, responseId).catch((error: unknown) => {
    throw (error as { code?: string }).code === "not_found" ? notFound() : error;
  });
  if (record.type !== RECORD_TYPE) throw notFound();
  return record;
}

/** Seq of the session's newest stored item: `lastSeq`, unless the newest ones were deleted since. */
async function newestSeq(store: SessionStore, tenant: string, session: Session): Promise<number> {
  if (session.lastSeq === session.itemCount) return session.lastSeq;
  const [newest] = await store.readItems(tenant, session.id, { order: "desc", limit: 1 });
  return newest?.seq ?? 0;
}

export async function planTurn(
  store: SessionStore,
  tenant: string,
  request: ParsedResponseRequest,
  idempotencyKey: string | undefined,
  /** The caller's end user (a token's `sub`), or null for API keys: owns what the turn creates. */
  owner: string | null = null,
  /** The one conversation the caller may write to (a conversation-scoped token's), or null. */
  scope: string | null = null,
): Promise<TurnPlan> {
  const hash = idempotencyKey === undefined ? null : keyHash(tenant, owner, idempotencyKey);
  const derivedId = hash ? `conv_${hash.slice(0, 32)}` : undefined;
  let sessionId: string | null = null;
  let historyUntilSeq: number | null = null;
  let continuesVersion: number | undefined;
  let persist = request.store;
  // Tool outputs are checked against the history before anything (a session, a fork, the
  // input) is written; only a turn whose outputs answer stored calls reads for it.
  const unmatched = unmatchedOutputs(request.input);
  const retry = idempotencyKey !== undefined;

  if (request.conversationId) {
    // No read here: the write-ahead append of the input is the existence check (404 if missing).
    sessionId = request.conversationId;
    persist = true;
    if (scope !== null && sessionId !== scope) throw outOfScope();
    await checkStoredCalls(store, tenant, sessionId, unmatched, { retry });
  } else if (request.previousResponseId) {
    const record = await previousRecord(store, tenant, request.previousResponseId);
    const parentId = sessionOfResponse(request.previousResponseId);
    await checkStoredCalls(store, tenant, parentId, unmatched, { untilSeq: record.seq, retry });
    const parent = await store.get(tenant, parentId);
    if (!persist) {
      sessionId = parentId;
      historyUntilSeq = record.seq;
    } else if (record.seq === parent.lastSeq || record.seq === (await newestSeq(store, tenant, parent))) {
      sessionId = parentId;
      continuesVersion = parent.version;
    } else {
      if (scope !== null) throw outOfScope();
      sessionId = await forkOnce(store, tenant, parentId, record.seq, derivedId, owner);
    }
  } else {
    rejectWithoutHistory(unmatched);
    if (persist && scope !== null) throw outOfScope();
    if (persist) sessionId = await createOnce(store, tenant, derivedId, owner);
  }

  const home = sessionId ?? `conv_${"0".repeat(32)}`;
  return {
    tenant,
    request,
    sessionId,
    persist,
    historyUntilSeq,
    responseId: hash ? responseIdForKey(home, hash) : newResponseId(home),
    operationIds: idempotencyKey ? { input: `${idempotencyKey}#in`, output: `${idempotencyKey}#out` } : {},
    ...(continuesVersion === undefined ? {} : { continuesVersion }),
  };
}

/** A turn of a conversation-scoped caller that would write to a session other than its own. */
function outOfScope(): PermissionDeniedError {
  return new PermissionDeniedError(
    "A conversation-scoped token can only continue its conversation at its newest response; " +
      "use the conversation id or a token of the user.",
  );
}

/** Creates the turn's own session; with a derived id a retry finds the one it created before. */
async function createOnce(
  store: SessionStore,
  tenant: string,
  id: string | undefined,
  owner: string | null,
): Promise<string> {
  try {
    return (await store.create(tenant, { id, owner, labels: [RESPONSES_LABEL] })).id;
  } catch (error) {
    if (id && (error as { code?: string }).code === "conflict") return id;
    throw error;
  }
}

async function forkOnce(
  store: SessionStore,
  tenant: string,
  parentId: string,
  atSeq: number,
  id: string | undefined,
  owner: string | null,
): Promise<string> {
  // Without an owner (API keys) the fork keeps its parent's, as a conversation fork does.
  const input = { id, atSeq, labels: [RESPONSES_LABEL], ...(owner === null ? {} : { owner }) };
  try {
    return (await store.fork(tenant, parentId, input)).id;
  } catch (error) {
    if (id && (error as { code?: string }).code === "conflict") return id;
    throw error;
  }
}
