/**
 * What is encrypted and what stays clear. An item's stored content keeps only the fields that
 * queries and windows need (`type`, `role`, `call_id`, `status`) plus `hf_enc`, the sealed
 * original body; session state becomes `{ hf_enc }`. `origin` names the session whose data key
 * sealed a blob (itself, or a fork ancestor).
 *
 * Item blobs read `2.<origin>.<seq>.<base64url>`: associated data binds tenant, origin session,
 * item id and `seq`, the seq the item was sealed for (the decorator seals at the seq the driver
 * will assign, see sealed-append.ts). The seq is authenticated, not trusted from the row: an item
 * whose stored seq is above its sealed one was moved up, and items read together must keep the
 * order of their sealed seqs (item-opening.ts), so rows swapped or reordered fail. A stored seq
 * may be below the sealed one: `migrate` and `sessions import` number a copy's items 1..n, closing
 * the gaps deleted items left, which keeps their order.
 *
 * Blobs written before (`1.<origin>.<base64url>`, associated data without the seq) still open as
 * they did: they are bound to tenant, origin session and item id only. State blobs keep format 1.
 */
import type { Item, JsonObject } from "../../store/types.ts";
import { DecryptionError } from "../errors.ts";
import { open, SEAL_OVERHEAD_BYTES, seal } from "./aead.ts";
import type { SessionKeys } from "./data-keys.ts";

export const ENC_FIELD = "hf_enc";
const BLOB_PATTERN = /^1\.(conv_[A-Za-z0-9_-]{8,96})\.([A-Za-z0-9_-]+)$/;
const ITEM_BLOB_PATTERN = /^2\.(conv_[A-Za-z0-9_-]{8,96})\.([1-9][0-9]{0,15})\.([A-Za-z0-9_-]+)$/;

/** Format 1 item AAD (no seq): what blobs written before the seq was bound open with. */
function itemAad(tenant: string, origin: string, itemId: string): string {
  return `hf-item\u0000${tenant}\u0000${origin}\u0000${itemId}`;
}

/** Format 2 item AAD up to the item id; the seq follows it (`\u0000<seq>`). */
function itemAadPrefix(tenant: string, origin: string): string {
  return `hf-item2\u0000${tenant}\u0000${origin}\u0000`;
}

/**
 * The seq a format 2 item blob was sealed for (read from its clear prefix: authentic only once
 * the blob opened), or null for a format 1 blob or anything else.
 */
export function sealedSeqOf(blob: string): number | null {
  if (!blob.startsWith("2.")) return null;
  const from = blob.indexOf(".", 2) + 1;
  const to = from > 0 ? blob.indexOf(".", from) : -1;
  if (to < 0) return null;
  const seq = Number(blob.slice(from, to));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

function stateAad(tenant: string, origin: string): string {
  return `hf-state\u0000${tenant}\u0000${origin}`;
}

function sealBlob(key: Buffer, origin: string, json: string, aad: string, deterministic: boolean): string {
  return `1.${origin}.${seal(key, json, aad, deterministic).toString("base64url")}`;
}

/** Keys lookup that may refresh once (another instance may have added an inherited key). */
export type KeyLookup = (origin: string) => Promise<Buffer | undefined>;

/** A blob's parts: who sealed it, its ciphertext and (format 2 items) the seq it was sealed for. */
interface BlobParts {
  origin: string;
  sealed: string;
  seq: string | null;
}

function blobParts(blob: string, items: boolean): BlobParts | null {
  if (items && blob.startsWith("2.")) {
    const match = ITEM_BLOB_PATTERN.exec(blob);
    if (!match?.[1] || !match[2] || !match[3]) return null;
    return { origin: match[1], seq: match[2], sealed: match[3] };
  }
  const match = BLOB_PATTERN.exec(blob);
  if (!match?.[1] || !match[2]) return null;
  return { origin: match[1], seq: null, sealed: match[2] };
}

async function openBlob(
  blob: string,
  lookup: KeyLookup,
  aadFor: (parts: BlobParts) => string,
  what: string,
  items = false,
): Promise<string> {
  const parts = blobParts(blob, items);
  if (!parts) throw new DecryptionError(`${what} holds a malformed encrypted blob.`);
  const origin = parts.origin;
  const key = await lookup(origin);
  if (!key) {
    throw new DecryptionError(
      `${what} cannot be decrypted: its data key is gone (the session was deleted, i.e. crypto-shredded) or its key record is missing.`,
    );
  }
  try {
    return open(key, Buffer.from(parts.sealed, "base64url"), aadFor(parts)).toString("utf8");
  } catch (error) {
    throw new DecryptionError(
      `${what} failed authentication: the ciphertext was altered or moved from another item or session.`,
      { cause: error },
    );
  }
}

/** What sealing items into one session needs, worked out once per append rather than per item. */
export interface ItemSealer {
  /** The session's own data key. */
  readonly key: Buffer;
  /** The item AAD up to the item id, and the blob up to the seq. */
  readonly aadPrefix: string;
  readonly blobPrefix: string;
}

export function itemSealer(keys: SessionKeys, tenant: string, sessionId: string): ItemSealer {
  const key = keys.get(sessionId);
  if (!key) throw new DecryptionError(`Session '${sessionId}' has no data key to encrypt with.`);
  return { key, aadPrefix: itemAadPrefix(tenant, sessionId), blobPrefix: `2.${sessionId}.` };
}

/**
 * Stored form of an item body (without its id), sealed under the session's own key for item
 * `itemId` at `seq`, and the sealed JSON with its UTF-8 size (read off the ciphertext).
 */
export function encryptContent(
  body: JsonObject,
  sealer: ItemSealer,
  itemId: string,
  seq: number,
  deterministic: boolean,
): { stored: JsonObject; plaintext: string; plaintextBytes: number } {
  // Field by field rather than a loop over the names: named accesses stay monomorphic.
  const stored: JsonObject = {};
  const { type, role, call_id, status } = body;
  if (typeof type === "string") stored.type = type;
  if (typeof role === "string") stored.role = role;
  if (typeof call_id === "string") stored.call_id = call_id;
  if (typeof status === "string") stored.status = status;
  // Deterministic for appends with an operation id, so a retry of the same payload hashes identically.
  const plaintext = JSON.stringify(body);
  const sealed = seal(sealer.key, plaintext, `${sealer.aadPrefix}${itemId}\u0000${seq}`, deterministic);
  stored[ENC_FIELD] = `${sealer.blobPrefix}${seq}.${sealed.toString("base64url")}`;
  return { stored, plaintext, plaintextBytes: sealed.length - SEAL_OVERHEAD_BYTES };
}

/**
 * The JSON text of an encrypted item's original body (`blob` is its `hf_enc`). Where the item
 * sits is checked by the caller (`checkSealedOrder`): a hit of the plaintext cache needs it too.
 */
export function openItemText(item: Item, blob: string, lookup: KeyLookup, tenant: string): Promise<string> {
  return openBlob(
    blob,
    lookup,
    ({ origin, seq }) =>
      seq === null
        ? itemAad(tenant, origin, item.id)
        : `${itemAadPrefix(tenant, origin)}${item.id}\u0000${seq}`,
    `Item '${item.id}' (seq ${item.seq})`,
    true,
  );
}

export function encryptState(
  state: JsonObject,
  keys: SessionKeys,
  tenant: string,
  sessionId: string,
): JsonObject {
  const key = keys.get(sessionId);
  if (!key) throw new DecryptionError(`Session '${sessionId}' has no data key to encrypt with.`);
  return { [ENC_FIELD]: sealBlob(key, sessionId, JSON.stringify(state), stateAad(tenant, sessionId), false) };
}

export async function decryptState(
  state: JsonObject,
  lookup: KeyLookup,
  tenant: string,
  sessionId: string,
): Promise<JsonObject> {
  const blob = state[ENC_FIELD];
  if (typeof blob !== "string") return state;
  const text = await openBlob(
    blob,
    lookup,
    ({ origin }) => stateAad(tenant, origin),
    `State of session '${sessionId}'`,
  );
  return JSON.parse(text) as JsonObject;
}
