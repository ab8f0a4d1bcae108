/**
 * `withStoreMetrics(store, metrics)`: a SessionStore decorator that times every operation
 * (histogram by driver, operation and outcome), counts conflicts and idempotent replays, and
 * opens one CLIENT span per operation (`store.<operation>`, no-op without an OpenTelemetry SDK).
 * It changes no behaviour: results and errors pass through untouched.
 */
import { type Span, SpanKind } from "@opentelemetry/api";
import { readHead } from "../store/decorators/delegating-store.ts";
import type {
  AppendOptions,
  AppendResult,
  CreateSessionInput,
  ForkInput,
  Item,
  ItemInput,
  JsonValue,
  ListQuery,
  Page,
  ReadItemsQuery,
  Session,
  SessionHeadInfo,
  SessionHeadReadable,
  SessionStore,
  UpdateSessionInput,
  Window,
  WindowQuery,
  WriteOptions,
} from "../store/types.ts";
import { errorOutcome } from "./bounded-label.ts";
import type { HoldfastMetrics } from "./create-metrics.ts";
import { recordCompaction, recordTurn } from "./metrics.ts";
import { failSpan, tracer } from "./tracing.ts";

/** Error codes that count as a concurrency or idempotency conflict. */
const CONFLICT_CODES = new Set(["conflict", "idempotency_conflict", "version_conflict"]);

export interface StoreMetricsOptions {
  /**
   * Count turns, tokens and cost from the response records the turn engine appends (one per
   * persisted turn; replays are not counted), so the engine needs no metrics code; the
   * compaction a record carries too (`recordCompaction`). Turns with
   * `store: false` write no record: report those with `recordTurn` — and then leave this off
   * if the engine reports every turn, or they are counted twice. Default false.
   */
  turnsFromRecords?: boolean;
}

const RECORD_TYPE = "response_record";

class MeasuredStore implements SessionStore, SessionHeadReadable {
  #inner: SessionStore;
  #metrics: HoldfastMetrics;
  #turns: boolean;

  constructor(inner: SessionStore, metrics: HoldfastMetrics, options: StoreMetricsOptions) {
    this.#inner = inner;
    this.#metrics = metrics;
    this.#turns = options.turnsFromRecords === true;
  }

  get driverName(): string {
    return this.#inner.driverName;
  }

  /** The wrapped store's driver, so lifecycle tools (sweeper, archiver) see through the decorator. */
  get driver(): unknown {
    return (this.#inner as { driver?: unknown }).driver ?? null;
  }

  async #run<T>(operation: string, tenant: string, id: string | null, fn: () => Promise<T>): Promise<T> {
    const driver = this.#inner.driverName;
    const span: Span = tracer().startSpan(`store.${operation}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        "db.system.name": driver,
        "db.operation.name": operation,
        "holdfast.tenant": tenant,
        ...(id ? { "holdfast.session_id": id } : {}),
      },
    });
    const started = process.hrtime.bigint();
    let outcome = "ok";
    try {
      return await fn();
    } catch (error) {
      outcome = errorOutcome(error, this.#metrics.outcomes);
      if (CONFLICT_CODES.has(outcome)) this.#metrics.storeConflicts.inc({ driver, operation });
      failSpan(span, error);
      throw error;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.#metrics.storeDuration.observe({ driver, operation, outcome }, seconds);
      span.end();
    }
  }

  create(tenant: string, input?: CreateSessionInput): Promise<Session> {
    return this.#run("create", tenant, null, () => this.#inner.create(tenant, input));
  }
  get(tenant: string, id: string): Promise<Session> {
    return this.#run("get", tenant, id, () => this.#inner.get(tenant, id));
  }
  head(tenant: string, id: string): Promise<SessionHeadInfo> {
    return this.#run("head", tenant, id, () => readHead(this.#inner, tenant, id));
  }
  list(tenant: string, query?: ListQuery): Promise<Page<Session>> {
    return this.#run("list", tenant, null, () => this.#inner.list(tenant, query));
  }
  update(tenant: string, id: string, patch: UpdateSessionInput, options?: WriteOptions): Promise<Session> {
    return this.#run("update", tenant, id, () => this.#inner.update(tenant, id, patch, options));
  }
  delete(tenant: string, id: string, options?: WriteOptions): Promise<void> {
    return this.#run("delete", tenant, id, () => this.#inner.delete(tenant, id, options));
  }
  async append(
    tenant: string,
    id: string,
    items: ItemInput[],
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const result = await this.#run("append", tenant, id, () =>
      this.#inner.append(tenant, id, items, options),
    );
    if (result.replayed) this.#metrics.storeReplays.inc({ driver: this.#inner.driverName });
    else if (this.#turns) this.#countTurns(tenant, items);
    return result;
  }

  #countTurns(tenant: string, items: readonly ItemInput[]): void {
    for (const item of items) {
      const c = item.content;
      if (c.type !== RECORD_TYPE) continue;
      const usage = (c.usage ?? {}) as Record<string, unknown>;
      const served = c.served_by as { model?: unknown } | null | undefined;
      const model =
        typeof served?.model === "string" && served.model ? served.model : String(c.model ?? "unknown");
      recordTurn(this.#metrics, {
        tenant,
        model,
        usage: {
          input_tokens: Number(usage.input_tokens) || 0,
          output_tokens: Number(usage.output_tokens) || 0,
          cached_tokens: Number(usage.cached_tokens) || 0,
        },
        costUsd: typeof c.cost_usd === "number" ? c.cost_usd : null,
      });
      // The summarizer calls of the compaction the turn triggered: spent upstream, not a turn.
      const compaction = c.compaction as Record<string, unknown> | null | undefined;
      if (compaction && typeof compaction === "object") {
        recordCompaction(this.#metrics, {
          tenant,
          model: typeof compaction.model === "string" && compaction.model ? compaction.model : model,
          calls: Number(compaction.calls) || 0,
          usage: {
            input_tokens: Number(compaction.input_tokens) || 0,
            output_tokens: Number(compaction.output_tokens) || 0,
            cached_tokens: Number(compaction.cached_tokens) || 0,
          },
          costUsd: typeof compaction.cost_usd === "number" ? compaction.cost_usd : null,
        });
      }
    }
  }
  patchState(tenant: string, id: string, patch: JsonValue, options?: WriteOptions): Promise<Session> {
    return this.#run("patch_state", tenant, id, () => this.#inner.patchState(tenant, id, patch, options));
  }
  readItems(tenant: string, id: string, query?: ReadItemsQuery): Promise<Item[]> {
    return this.#run("read_items", tenant, id, () => this.#inner.readItems(tenant, id, query));
  }
  getItem(tenant: string, id: string, itemId: string): Promise<Item> {
    return this.#run("get_item", tenant, id, () => this.#inner.getItem(tenant, id, itemId));
  }
  deleteItem(tenant: string, id: string, itemId: string, options?: WriteOptions): Promise<Session> {
    return this.#run("delete_item", tenant, id, () => this.#inner.deleteItem(tenant, id, itemId, options));
  }
  readWindow(tenant: string, id: string, query: WindowQuery): Promise<Window> {
    return this.#run("read_window", tenant, id, () => this.#inner.readWindow(tenant, id, query));
  }
  fork(tenant: string, id: string, input?: ForkInput): Promise<Session> {
    return this.#run("fork", tenant, id, () => this.#inner.fork(tenant, id, input));
  }
  touch(tenant: string, id: string): Promise<Session> {
    return this.#run("touch", tenant, id, () => this.#inner.touch(tenant, id));
  }
  renewClaim(tenant: string, id: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.#run("renew_claim", tenant, id, () => this.#inner.renewClaim(tenant, id, holder, ttlMs));
  }
  releaseClaim(tenant: string, id: string, holder: string): Promise<void> {
    return this.#run("release_claim", tenant, id, () => this.#inner.releaseClaim(tenant, id, holder));
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** Wraps `store` so every operation is measured and traced; the caller keeps owning `store`. */
export function withStoreMetrics(
  store: SessionStore,
  metrics: HoldfastMetrics,
  options: StoreMetricsOptions = {},
): SessionStore {
  return new MeasuredStore(store, metrics, options);
}
