/**
 * `holdfast/adapters/express-session`: an express-session `Store` backed by a Holdfast store,
 * without express-session's lost-update race.
 *
 * The race: two parallel requests load the same session, each changes a different key, and the
 * later `set` writes its whole copy over the earlier one's change. Here every request remembers
 * the version and the data it loaded (via `createSession`, which express-session calls for each
 * loaded session). `set` turns "what this request changed against what it loaded" into a JSON
 * Merge Patch and writes it with expectedVersion; on a version conflict it re-reads and applies
 * the same patch to the current data — a three-way merge — and retries. Changes to different
 * keys all survive; two changes to the same key: the later write wins, as before.
 *
 * TTL: the Holdfast session's `idleTtlMs` is the cookie's `originalMaxAge` rounded up to whole
 * seconds (express-session pushes the cookie's expiry to "now + maxAge" on every request, which
 * is exactly an idle TTL), `touch` bumps it, and an expired session is invisible at once (store
 * invariant).
 */
import session, { type SessionData, Store } from "express-session";
import { InvalidArgumentError, isHoldfastError } from "../../store/errors.ts";
import { sha256 } from "../../store/ids.ts";
import type { JsonObject, JsonValue, Session, SessionStore } from "../../store/types.ts";
import { jsonEqual, toJsonObject } from "./json.ts";

/** Options of {@link HoldfastSessionStore}. */
export interface HoldfastSessionStoreOptions {
  store: SessionStore;
  tenant: string;
  /** Idle TTL for sessions whose cookie has no maxAge (browser-session cookies). Default 1 day. */
  ttlMs?: number;
  /** Attempts of the merge-and-retry loop under contention. Default 20. */
  maxAttempts?: number;
}

interface Base {
  version: number;
  data: JsonObject;
}

type Callback<T = void> = (error?: unknown, result?: T) => void;

const DAY_MS = 86_400_000;

/** The Holdfast session id of an express session id: hashed, so the store never holds a usable cookie. */
export function sessionIdOfSid(sid: string): string {
  return `conv_es_${sha256(sid)}`;
}

/** A Holdfast-backed express-session store; see the module comment for the merge guarantee. */
export class HoldfastSessionStore extends Store {
  readonly #store: SessionStore;
  readonly #tenant: string;
  readonly #ttlMs: number;
  readonly #maxAttempts: number;
  // Data object returned by get() → what was loaded; then Session object → the same, per request.
  readonly #loaded = new WeakMap<object, Base>();

  constructor(options: HoldfastSessionStoreOptions) {
    super();
    if (options?.store === undefined || typeof options.store.patchState !== "function") {
      throw new InvalidArgumentError("options.store must be a Holdfast SessionStore.", { param: "store" });
    }
    if (typeof options.tenant !== "string" || options.tenant.length === 0) {
      throw new InvalidArgumentError("options.tenant must be a non-empty string.", { param: "tenant" });
    }
    this.#ttlMs = positiveInt(options.ttlMs ?? DAY_MS, "ttlMs");
    this.#maxAttempts = positiveInt(options.maxAttempts ?? 20, "maxAttempts");
    this.#store = options.store;
    this.#tenant = options.tenant;
  }

  override get(sid: string, callback: Callback<SessionData | null>): void {
    settle(this.#get(sid), callback);
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    settle(this.#set(sid, data), callback);
  }

  override destroy(sid: string, callback?: Callback): void {
    settle(this.#destroy(sid), callback);
  }

  override touch(sid: string, data: SessionData, callback?: Callback): void {
    settle(this.#touch(sid, data), callback);
  }

  /** Remembers what the request loaded, keyed by its `req.session`. */
  override createSession(
    req: Parameters<Store["createSession"]>[0],
    data: SessionData,
  ): session.Session & Partial<SessionData> {
    const base = this.#loaded.get(data);
    const created = super.createSession(req, data);
    if (base !== undefined) this.#loaded.set(created, base);
    return created;
  }

  async #get(sid: string): Promise<SessionData | null> {
    let head: Session;
    try {
      head = await this.#store.get(this.#tenant, sessionIdOfSid(sid));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    if (head.state.cookie === undefined) return null;
    const data = structuredClone(head.state) as unknown as SessionData;
    this.#loaded.set(data, { version: head.version, data: structuredClone(head.state) });
    return data;
  }

  async #set(sid: string, data: SessionData): Promise<void> {
    // A cookie that has already expired (e.g. `cookie.expires` set in the past to end a session):
    // destroy, like connect-redis and the stock MemoryStore, instead of keeping it for `ttlMs`.
    if (hasExpired(data)) return await this.#destroy(sid);
    const id = sessionIdOfSid(sid);
    const desired = toJsonObject(data, "session");
    const idleTtlMs = this.#idleTtl(data);
    const base = this.#loaded.get(data);
    if (base !== undefined) await this.#merge(id, base, desired, idleTtlMs);
    else await this.#createOrOverwrite(id, desired, idleTtlMs);
    // A later save in the same request (req.session.save() then more changes) patches against
    // what this one wrote.
    this.#loaded.set(data, { version: -1, data: desired });
  }

  /** A new session (nothing loaded); if the id exists after all, overwrite it like any Store. */
  async #createOrOverwrite(id: string, desired: JsonObject, idleTtlMs: number): Promise<void> {
    try {
      await this.#store.create(this.#tenant, { id, state: desired, idleTtlMs, labels: ["express-session"] });
      return;
    } catch (error) {
      if (!isHoldfastError(error) || error.code !== "conflict") throw error;
    }
    const current = await this.#store.get(this.#tenant, id);
    await this.#merge(id, { version: current.version, data: current.state }, desired, idleTtlMs);
  }

  async #merge(id: string, base: Base, desired: JsonObject, idleTtlMs: number): Promise<void> {
    const patch = diffToMergePatch(base.data, desired);
    let expectedVersion = base.version;
    let written: Session | undefined;
    for (let attempt = 1; Object.keys(patch).length > 0; attempt++) {
      try {
        written = await this.#store.patchState(
          this.#tenant,
          id,
          patch,
          expectedVersion < 0 ? {} : { expectedVersion },
        );
        break;
      } catch (error) {
        // Destroyed by a parallel request (logout) or expired: do not bring it back.
        if (isNotFound(error)) return;
        if (!isHoldfastError(error) || error.code !== "conflict" || attempt >= this.#maxAttempts) throw error;
        // Three-way merge: the same patch (our changes against our base) on the current data.
        expectedVersion = (await this.#store.get(this.#tenant, id)).version;
      }
    }
    written ??= await this.#store.get(this.#tenant, id).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (written === undefined) return;
    if (written.idleTtlMs !== idleTtlMs) await this.#store.update(this.#tenant, id, { idleTtlMs });
    else if (written.lastActiveAt < written.updatedAt) await this.#store.touch(this.#tenant, id);
  }

  async #destroy(sid: string): Promise<void> {
    try {
      await this.#store.delete(this.#tenant, sessionIdOfSid(sid));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async #touch(sid: string, data: SessionData): Promise<void> {
    if (hasExpired(data)) return await this.#destroy(sid);
    const id = sessionIdOfSid(sid);
    try {
      const touched = await this.#store.touch(this.#tenant, id);
      const idleTtlMs = this.#idleTtl(data);
      if (touched.idleTtlMs !== idleTtlMs) await this.#store.update(this.#tenant, id, { idleTtlMs });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  #idleTtl(data: SessionData): number {
    const maxAge = data.cookie?.originalMaxAge;
    // Rounded up to whole seconds: express-session derives a new cookie's originalMaxAge from a
    // getter (expiry minus now), so `maxAge: 60000` sometimes arrives as 59999; unrounded, such a
    // session's TTL would differ by a millisecond from request to request (and cost an update).
    return typeof maxAge === "number" && maxAge > 0 ? Math.ceil(maxAge / 1000) * 1000 : this.#ttlMs;
  }
}

/**
 * The JSON Merge Patch (RFC 7386) that turns `base` into `desired`. A `null` value in `desired`
 * cannot be expressed (merge patch reads it as "delete"), so such a key is removed instead.
 */
export function diffToMergePatch(base: JsonObject, desired: JsonObject): JsonObject {
  const patch: JsonObject = {};
  // Own keys only: `"toString" in desired` is true for every object.
  for (const key of Object.keys(base)) if (!Object.hasOwn(desired, key)) patch[key] = null;
  for (const [key, value] of Object.entries(desired)) {
    const before = base[key];
    if (isObject(before) && isObject(value)) {
      const inner = diffToMergePatch(before, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (before === undefined || !jsonEqual(before, value)) {
      patch[key] = value;
    }
  }
  return patch;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Whether the session's cookie has an expiry date that has passed. */
function hasExpired(data: SessionData): boolean {
  const expires = data?.cookie?.expires as Date | string | null | undefined;
  if (expires === null || expires === undefined) return false;
  const at = new Date(expires).getTime();
  return Number.isFinite(at) && at <= Date.now();
}

function isNotFound(error: unknown): boolean {
  return isHoldfastError(error) && error.code === "not_found";
}

function settle<T>(promise: Promise<T>, callback: Callback<T> | undefined): void {
  promise.then(
    (value) => callback?.(null, value),
    (error: unknown) => callback?.(error),
  );
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`options.${name} must be a positive integer.`, { param: name });
  }
  return value;
}
