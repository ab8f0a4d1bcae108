/**
 * `withQuotas(store, options)`: a SessionStore decorator that rejects appends which would take
 * a session past its item, byte or token limit (tenant policy, or the session's `lifecycle.*`
 * metadata). Before rejecting it can call an injected compaction hook (e.g. the context
 * engine's compaction, or a fork-and-archive), then checks again.
 */

import { DelegatingStore } from "../store/decorators/delegating-store.ts";
import { HoldfastError } from "../store/errors.ts";
import { estimateTokens } from "../store/tokens.ts";
import type {
  AppendOptions,
  AppendResult,
  CreateSessionInput,
  ItemInput,
  Session,
  SessionStore,
} from "../store/types.ts";
import { type LifecyclePolicy, sessionPolicy } from "./policy.ts";

/** Stable code `quota_exceeded`; the HTTP layer answers 413. */
export class QuotaExceededError extends HoldfastError {
  readonly limit: QuotaKind;
  constructor(message: string, limit: QuotaKind) {
    super("quota_exceeded", message, { param: "items" });
    this.limit = limit;
  }
}

export type QuotaKind = "items" | "bytes" | "tokens";

/** What an append would add to a session. */
export interface QuotaDelta {
  items: number;
  bytes: number;
  tokens: number;
}

export interface QuotaOptions {
  policy: LifecyclePolicy;
  /**
   * Called once when an append would exceed a limit, before rejecting it; it may shrink the
   * session (compaction, archiving old items). The limit is then checked again on a fresh read.
   */
  compact?: (tenant: string, session: Session, over: QuotaKind, delta: QuotaDelta) => Promise<void>;
}

function deltaOf(items: readonly ItemInput[]): QuotaDelta {
  let bytes = 0;
  let tokens = 0;
  for (const item of items) {
    bytes += Buffer.byteLength(JSON.stringify(item.content));
    tokens += item.tokens ?? estimateTokens(item.content);
  }
  return { items: items.length, bytes, tokens };
}

const SETTING: Record<QuotaKind, string> = {
  items: "max_items_per_session (metadata lifecycle.max_items)",
  bytes: "max_bytes_per_session (metadata lifecycle.max_bytes)",
  tokens: "max_tokens_per_session (metadata lifecycle.max_tokens)",
};

/** The first limit `session + delta` exceeds, with its numbers, or null. */
export function quotaBreach(
  policy: LifecyclePolicy,
  session: Session,
  delta: QuotaDelta,
): { kind: QuotaKind; would: number; limit: number } | null {
  const p = sessionPolicy(policy, session);
  const checks: [QuotaKind, number, number | null][] = [
    ["items", session.itemCount + delta.items, p.maxItemsPerSession],
    ["bytes", session.bytes + delta.bytes, p.maxBytesPerSession],
    ["tokens", session.tokenCount + delta.tokens, p.maxTokensPerSession],
  ];
  for (const [kind, would, limit] of checks) {
    if (limit !== null && would > limit) return { kind, would, limit };
  }
  return null;
}

class QuotaStore extends DelegatingStore {
  readonly #options: QuotaOptions;

  constructor(inner: SessionStore, options: QuotaOptions) {
    super(inner);
    this.#options = options;
  }

  #reject(session: Session, breach: { kind: QuotaKind; would: number; limit: number }): never {
    throw new QuotaExceededError(
      `Session '${session.id}' would hold ${breach.would} ${breach.kind}, over its limit of ${breach.limit} ` +
        `(${SETTING[breach.kind]}). Start a new session, fork a shorter one, or raise the limit.`,
      breach.kind,
    );
  }

  override async create(tenant: string, input?: CreateSessionInput): Promise<Session> {
    if (input?.items && input.items.length > 0) {
      const empty = {
        tenant,
        metadata: input.metadata ?? {},
        idleTtlMs: null,
        itemCount: 0,
        bytes: 0,
        tokenCount: 0,
      };
      const breach = quotaBreach(this.#options.policy, empty as Session, deltaOf(input.items));
      if (breach) this.#reject({ ...empty, id: input.id ?? "(new)" } as Session, breach);
    }
    return this.inner.create(tenant, input);
  }

  override async append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const delta = deltaOf(items);
    let session = await this.inner.get(tenant, id);
    let breach = quotaBreach(this.#options.policy, session, delta);
    if (breach && this.#options.compact) {
      await this.#options.compact(tenant, session, breach.kind, delta);
      session = await this.inner.get(tenant, id);
      breach = quotaBreach(this.#options.policy, session, delta);
    }
    if (breach) this.#reject(session, breach);
    return this.inner.append(tenant, id, items, options);
  }
}

/** Wraps `store` so appends over a session's limits fail with `quota_exceeded`. */
export function withQuotas(store: SessionStore, options: QuotaOptions): SessionStore {
  return new QuotaStore(store, Object.freeze({ ...options }));
}
