/**
 * Opening what `withEncryption` sealed for one session (its state, its items) with the session's
 * data keys, retrying once with freshly loaded keys when a decryption fails, because another
 * instance may have re-keyed the session since the keys were cached here. When it still fails
 * because the session was deleted meanwhile (its keys destroyed after its ciphertext was read),
 * the answer is `not_found`, as for a read just after the delete.
 */
import { isHoldfastError, sessionNotFound } from "../../store/errors.ts";
import type { Item, Session } from "../../store/types.ts";
import { DecryptionError } from "../errors.ts";
import { decryptState, ENC_FIELD, type KeyLookup } from "./content-crypto.ts";
import type { DataKeys } from "./data-keys.ts";
import { type Opening, openItems } from "./item-opening.ts";
import type { PlaintextCache } from "./plaintext-cache.ts";

/** For a list's `session()` opens: null for a session that turned out to be gone (`not_found`); any other error is thrown. */
export function unlessGone(error: unknown): null {
  if (isHoldfastError(error) && error.code === "not_found") return null;
  throw error;
}

export class SessionOpener {
  readonly #keys: DataKeys;
  readonly #plain: PlaintextCache;
  readonly #isGone: (tenant: string, sessionId: string) => Promise<boolean>;

  /** `isGone`: whether the session no longer exists (the inner store answers `not_found`). */
  constructor(
    keys: DataKeys,
    plain: PlaintextCache,
    isGone: (tenant: string, sessionId: string) => Promise<boolean>,
  ) {
    this.#keys = keys;
    this.#plain = plain;
    this.#isGone = isGone;
  }

  /** The session with its state decrypted (a session without sealed state is returned as is). */
  async session(session: Session): Promise<Session> {
    if (typeof session.state[ENC_FIELD] !== "string") return session;
    const state = await this.#opening(session.tenant, session.id, (lookup) =>
      decryptState(session.state, lookup, session.tenant, session.id),
    );
    return { ...session, state };
  }

  /** Decrypts items in place; see openItems. */
  items(tenant: string, sessionId: string, items: Item[], texts?: string[]): Promise<Item[]> {
    const opening = (run: Parameters<Opening>[0]) => this.#opening(tenant, sessionId, run);
    return openItems(this.#plain, opening, tenant, sessionId, items, texts);
  }

  #lookup(tenant: string, sessionId: string): KeyLookup {
    return async (origin) => {
      const key = (await this.#keys.load(tenant, sessionId)).get(origin);
      return key ?? (await this.#keys.load(tenant, sessionId, true)).get(origin);
    };
  }

  /**
   * Runs a decryption; on failure retries once with freshly loaded keys (another instance may have
   * re-keyed). A failure of the session deleted meanwhile is `not_found`, not a system fault.
   */
  async #opening<T>(tenant: string, sessionId: string, run: (lookup: KeyLookup) => Promise<T>): Promise<T> {
    try {
      return await run(this.#lookup(tenant, sessionId));
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      await this.#keys.load(tenant, sessionId, true);
      try {
        return await run(this.#lookup(tenant, sessionId));
      } catch (again) {
        if (again instanceof DecryptionError && (await this.#isGone(tenant, sessionId)))
          throw sessionNotFound(sessionId);
        throw again;
      }
    }
  }
}
