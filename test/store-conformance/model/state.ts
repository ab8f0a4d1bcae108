/**
 * The in-test model of the model-based conformance case: a few sessions of one tenant, written
 * the obvious way (arrays, maps, linear scans), so that every answer of a real store can be
 * predicted from it. Nothing here imports store code but its types: the model is the contract
 * restated, not the implementation reused.
 */
import type {
  ForkParent,
  ItemInput,
  JsonObject,
  JsonValue,
  Session,
  SessionStatus,
} from "../../../src/store/types.ts";

/** Session ids of the model's slots: mixed case and both punctuation marks, so id order is exercised. */
export const SLOT_IDS = ["conv_model-A0", "conv_model_a1", "conv_Model-b2"] as const;

const CALL_TYPES = ["function_call", "custom_tool_call", "computer_call"];
const OUTPUT_TYPES = ["function_call_output", "custom_tool_call_output", "computer_call_output"];

export interface ModelItem {
  id: string;
  seq: number;
  type: string;
  role: string | null;
  status: string | null;
  content: JsonObject;
  tokens: number;
  /** Stored bytes: the JSON's UTF-8 size, or (sealed stores) learned from the first answer showing it. */
  bytes: number | null;
  turnId: string | null;
  createdAt: number;
}

/** What an append under an operation id answered the first time, and the payload it carried. */
export interface ModelOperation {
  payload: string;
  version: number;
  firstSeq: number;
  lastSeq: number;
}

export interface ModelSession {
  id: string;
  owner: string | null;
  metadata: Record<string, string>;
  labels: string[];
  state: JsonObject;
  version: number;
  lastSeq: number;
  items: ModelItem[];
  createdAt: number;
  updatedAt: number;
  lastActiveAt: number;
  idleTtlMs: number | null;
  expiresAt: number | null;
  status: SessionStatus;
  pinned: boolean;
  forkParent: ForkParent | null;
  operations: Map<string, ModelOperation>;
  /** The turn claim (not session data: no version, no timestamp); expired ones stay until taken over. */
  claim: { holder: string; until: number } | null;
  /** Sealed stores only: the session's byte size as last answered (null until known). */
  sealedBytes: number | null;
}

export interface Model {
  tenant: string;
  now: number;
  /** True when the store encrypts contents: byte sizes are the ciphertext's, learned, not computed. */
  sealed: boolean;
  /** Sessions by id, expired ones included: an expired session keeps its id until it is swept. */
  sessions: Map<string, ModelSession>;
}

export function isVisible(s: ModelSession, now: number): boolean {
  if (s.idleTtlMs !== null && s.lastActiveAt + s.idleTtlMs <= now) return false;
  return s.expiresAt === null || s.expiresAt > now;
}

export function visibleSession(model: Model, id: string): ModelSession | null {
  const s = model.sessions.get(id);
  return s && isVisible(s, model.now) ? s : null;
}

const utf8 = (text: string): number => Buffer.byteLength(text);

/** The item a store must make of an input appended at `seq` and `now` (its id when the caller chose one). */
export function modelItem(input: ItemInput, seq: number, now: number, sealed: boolean): ModelItem {
  const { id: innerId, ...content } = input.content;
  const json = JSON.stringify(content);
  const text = (field: string): string | null => {
    const value = content[field];
    return typeof value === "string" ? value : null;
  };
  return {
    id: input.id ?? (typeof innerId === "string" ? innerId : ""),
    seq,
    type: content.type as string,
    role: text("role"),
    status: text("status"),
    content: structuredClone(content),
    tokens: input.tokens ?? Math.ceil(utf8(json) / 4),
    bytes: sealed ? null : utf8(json),
    turnId: input.turnId ?? null,
    createdAt: now,
  };
}

/** A session created now with `fields`, the rest as a plain create makes it. */
export function newSession(model: Model, id: string, fields: Partial<ModelSession>): ModelSession {
  return {
    id,
    owner: null,
    metadata: {},
    labels: [],
    state: {},
    version: 1,
    lastSeq: 0,
    items: [],
    createdAt: model.now,
    updatedAt: model.now,
    lastActiveAt: model.now,
    idleTtlMs: null,
    expiresAt: null,
    status: "active",
    pinned: false,
    forkParent: null,
    operations: new Map(),
    claim: null,
    sealedBytes: null,
    ...fields,
  };
}

/** The model's items for `inputs` appended now after the session's last seq. */
export function appended(model: Model, s: ModelSession | null, inputs: ItemInput[]): ModelItem[] {
  const from = s?.lastSeq ?? 0;
  return inputs.map((input, i) => modelItem(input, from + 1 + i, model.now, model.sealed));
}

/** Session bytes: item bytes plus the serialized state; null when a sealed store has not told yet. */
export function sessionBytes(model: Model, s: ModelSession): number | null {
  if (model.sealed) return s.sealedBytes;
  return s.items.reduce((n, i) => n + (i.bytes ?? 0), utf8(JSON.stringify(s.state)));
}

/** The whole Session a store must answer for `s` (bytes null when unknown). */
export function expectedSession(
  model: Model,
  s: ModelSession,
): Omit<Session, "bytes"> & {
  bytes: number | null;
} {
  return {
    id: s.id,
    tenant: model.tenant,
    owner: s.owner,
    metadata: { ...s.metadata },
    labels: [...s.labels],
    state: structuredClone(s.state),
    version: s.version,
    itemCount: s.items.length,
    lastSeq: s.lastSeq,
    tokenCount: s.items.reduce((n, i) => n + i.tokens, 0),
    bytes: sessionBytes(model, s),
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    lastActiveAt: s.lastActiveAt,
    idleTtlMs: s.idleTtlMs,
    expiresAt: s.expiresAt,
    status: s.status,
    pinned: s.pinned,
    forkParent: s.forkParent === null ? null : { ...s.forkParent },
  };
}

function callIdOf(item: ModelItem): string | null {
  const id = item.content.call_id;
  return typeof id === "string" ? id : null;
}

const isCall = (item: ModelItem): boolean => CALL_TYPES.includes(item.type);
const isOutput = (item: ModelItem): boolean => OUTPUT_TYPES.includes(item.type);

/**
 * The items deleting `target` removes: itself, and when it is a call or an output, the call
 * (the nearest one before an output) and every call or output sharing its call id from there on.
 */
export function deletionUnit(s: ModelSession, target: ModelItem): ModelItem[] {
  const callId = isCall(target) || isOutput(target) ? callIdOf(target) : null;
  if (callId === null) return [target];
  const callBefore = s.items.filter((i) => isCall(i) && callIdOf(i) === callId && i.seq < target.seq).at(-1);
  const from = isCall(target) ? target.seq : (callBefore?.seq ?? target.seq);
  const unit = s.items.filter((i) => i.seq >= from && (isCall(i) || isOutput(i)) && callIdOf(i) === callId);
  return unit.includes(target) ? unit : [target, ...unit];
}

/** True when no output in `items` lacks its call earlier in `items`. */
function noOrphans(items: ModelItem[]): boolean {
  return items.every(
    (item, index) =>
      !isOutput(item) || items.slice(0, index).some((i) => isCall(i) && callIdOf(i) === callIdOf(item)),
  );
}

export interface ModelWindow {
  items: ModelItem[];
  tokens: number;
  fromSeq: number;
  truncated: boolean;
  sessionVersion: number;
}

/**
 * The window: the longest suffix of the history whose tokens fit the budget, minus the excluded
 * types, then cut to its longest suffix without an orphan output.
 */
export function modelWindow(s: ModelSession, maxTokens: number, exclude: readonly string[]): ModelWindow {
  let start = s.items.length;
  let sum = 0;
  while (start > 0 && sum + s.items[start - 1]!.tokens <= maxTokens) sum += s.items[--start]!.tokens;
  const range = s.items.slice(start).filter((i) => !exclude.includes(i.type));
  let cut = 0;
  while (!noOrphans(range.slice(cut))) cut++;
  const items = range.slice(cut);
  return {
    items,
    tokens: items.reduce((n, i) => n + i.tokens, 0),
    fromSeq: items[0]?.seq ?? 0,
    // Older items were left out: the budget stopped before the oldest item, or pairing cut the head.
    truncated: start > 0 || cut > 0,
    sessionVersion: s.version,
  };
}

/** RFC 7386 JSON Merge Patch, the textbook way. */
export function mergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return structuredClone(patch);
  const base = target !== null && typeof target === "object" && !Array.isArray(target) ? target : {};
  const result: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key] ?? null, value);
  }
  return result;
}
