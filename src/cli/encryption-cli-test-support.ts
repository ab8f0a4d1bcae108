/**
 * Set-up shared by the CLI's encryption-at-rest tests: one keyring, a message item, and a store
 * opened as `holdfast serve` opens it with HOLDFAST_KEYS set.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createStoredTokenCounter } from "../engine/context/stored-tokens.ts";
import { atRestStoreOptions, encryptAtRest } from "../security/at-rest.ts";
import { parseKeyring } from "../security/encryption/keyring.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";

/** A keyring in HOLDFAST_KEYS form, fresh per test process. */
export const KEYS = `k1:${randomBytes(32).toString("base64")}`;

export function message(text: string) {
  return { content: { type: "message", role: "user", content: [{ type: "input_text", text }] } };
}

/** The store opened as serve opens it with HOLDFAST_KEYS set (the one shared path), and the plain store under it. */
export async function openAsServe(url: string): Promise<{ base: SessionStore; store: SessionStore }> {
  const countTokens = createStoredTokenCounter();
  const keyring = parseKeyring(KEYS);
  const base = await createStore(atRestStoreOptions({ url, countTokens }, keyring));
  const store = encryptAtRest(base, { keyring, countTokens });
  assert.ok(store);
  return { base, store };
}
