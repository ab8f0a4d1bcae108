/**
 * What is encrypted and what stays clear. An item's stored content keeps only the fields that
 * queries and windows need (`type`, `role`, `call_id`, `status`) plus `hf_enc`, the sealed
 * original body; session state becomes `{ hf_enc }`. Blobs read `1.<origin>.<base64url>`, where
 * `origin` names the session whose data key sealed it (itself, or a fork ancestor).
 *
 * Associated data binds tenant, origin session and item id. The seq is not known before the
 * driver assigns it, but an item id is unique within a session and never reused, so binding the
 * id gives the same guarantee: a blob moved to another item, session or tenant fails to open.
 */
import type { Item, JsonObject } from "../../store/types.ts";
import { DecryptionError } from "../errors.ts";
import { open, SEAL_OVERHEAD_BYTES, seal } from "./aead.ts";
import type { SessionKeys } from "./data-keys.ts";

export const ENC_FIELD = "hf_enc";
const BLOB_PATTERN = /^1\.(conv_[A-Za-z0-9_-]{8,96})\.([A-Za-z0-9_-]+)$/;

function itemAad(tenant: string, origin: string, itemId: string): string {
  return `hf-item\u0000${tenant}\u0000${origin}\u0000${itemId}`;
}

function stateAad(tenant: string, origin: string): string {
  return `hf-state\u0000${tenant}\u0000${origin}`;
}

function sealBlob(key: Buffer, origin: string, json: string, aad: string, deterministic: boolean): string {
  return `1.${origin}.${seal(key, json, aad, deterministic).toString("base64url")}`;
}

/** Keys lookup that may refresh once (another instance may have added an inherited key). */
export type KeyLookup = (origin: string) => Promise<Buffer | undefined>;

async function openBlob(
  blob: string,
  lookup: KeyLookup,
  aadFor: (origin: string) => string,
  what: string,
): Promise<string> {
  const match = BLOB_PATTERN.exec(blob);
  if (!match?.[1] || !match[2]) throw new DecryptionError(`${what} holds a malformed encrypted blob.`);
  const origin = match[1];
  const key = await lookup(origin);
  if (!key) {
    throw new DecryptionError(
      `${what} cannot be decrypted: its data key is gone (the session was deleted, i.e. crypto-shredded) or its key record is missing.`,
    );
  }
  try {
    return open(key, Buffer.from(match[2], "base64url"), aadFor(origin)).toString("utf8");
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
  /** The item AAD up to the item id, and the blob up to the ciphertext. */
  readonly aadPrefix: string;
  readonly blobPrefix: string;
}

export function itemSealer(keys: SessionKeys, tenant: string, sessionId: string): ItemSealer {
  const key = keys.get(sessionId);
  if (!key) throw new DecryptionError(`Session '${sessionId}' has no data key to encrypt with.`);
  return { key, aadPrefix: itemAad(tenant, sessionId, ""), blobPrefix: `1.${sessionId}.` };
}

/**
 * Stored form of an item body (without its id), sealed under the session's own key, and the
 * sealed JSON with its UTF-8 size (read off the ciphertext, not counted again).
 */
export function encryptContent(
  body: JsonObject,
  sealer: ItemSealer,
  itemId: string,
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
  const sealed = seal(sealer.key, plaintext, sealer.aadPrefix + itemId, deterministic);
  stored[ENC_FIELD] = sealer.blobPrefix + sealed.toString("base64url");
  return { stored, plaintext, plaintextBytes: sealed.length - SEAL_OVERHEAD_BYTES };
}

/** The JSON text of an encrypted item's original body (`blob` is its `hf_enc`). */
export function openItemText(item: Item, blob: string, lookup: KeyLookup, tenant: string): Promise<string> {
  return openBlob(
    blob,
    lookup,
    (origin) => itemAad(tenant, origin, item.id),
    `Item '${item.id}' (seq ${item.seq})`,
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
    (origin) => stateAad(tenant, origin),
    `State of session '${sessionId}'`,
  );
  return JSON.parse(text) as JsonObject;
}
