/** The public contract of `withEncryption`: its options and the extra key-maintenance operations. */

import type { TokenCounter } from "../../store/tokens.ts";
import type { Item, SessionHeadReadable, SessionStore } from "../../store/types.ts";
import type { Keyring } from "./keyring.ts";
import type { PlaintextLimits } from "./sealed-limits.ts";

/**
 * `maxItemBytes` / `maxStateBytes` limit the plaintext (serialized JSON bytes, as the store core
 * counts them; default 1 MiB each), refused as the core refuses it; the wrapped store must accept
 * their sealed form: open it with `sealedStoreLimits()` of the same limits.
 */
export interface EncryptionOptions extends PlaintextLimits {
  keyring: Keyring;
  /** Where wrapped data keys live (default: the wrapped store itself, in tenant `_hf_data_key`). */
  systemStore?: SessionStore;
  /** Token counter applied to plaintext items that carry no `tokens` (default: estimateTokens). */
  countTokens?: TokenCounter;
  /** Data-key cache lifetime for writes, ms (default 1000). */
  keyCacheTtlMs?: number;
  /**
   * Budget of each in-process plaintext cache — decrypted item bodies, and decrypted windows
   * kept per session version — in bytes (default 64 MiB each; 0 disables both).
   */
  plaintextCacheBytes?: number;
}

export interface EncryptedStore extends SessionStore, SessionHeadReadable {
  /**
   * Decrypts items of session `sessionId` read past this store (its archive, say: the archiver
   * copies the sealed items) with the session's data key, in place; plaintext items pass as they are.
   */
  openItems(tenant: string, sessionId: string, items: Item[]): Promise<Item[]>;
  /** Re-wraps every data key under the keyring's active master key; items are untouched. */
  rotateMasterKey(): Promise<{ records: number; rewrapped: number }>;
  /**
   * Crypto-shreds data keys whose session no longer exists (e.g. removed by the expiry sweeper,
   * which bypasses this decorator). Only records older than `olderThanMs` (default 10 min) are
   * considered, so a session being created right now keeps its key.
   */
  shredOrphanedKeys(options?: {
    olderThanMs?: number;
    now?: number;
  }): Promise<{ checked: number; shredded: number }>;
}
