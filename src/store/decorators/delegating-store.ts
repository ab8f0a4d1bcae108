/**
 * A SessionStore that forwards every call to another one: the base of store decorators (window
 * cache, quotas, transparent archive restore), which override only what they change. `driver` is
 * forwarded too, so tools that need driver capabilities see through decorators.
 */
import type { StoreDriver } from "../driver.ts";
import {
  type AppendOptions,
  type AppendResult,
  type CreateSessionInput,
  canReadHead,
  type ForkInput,
  headOf,
  type Item,
  type ItemInput,
  type JsonValue,
  type ListQuery,
  type Page,
  type ReadItemsQuery,
  type Session,
  type SessionHeadInfo,
  type SessionHeadReadable,
  type SessionStore,
  type UpdateSessionInput,
  type Window,
  type WindowQuery,
  type WriteOptions,
} from "../types.ts";

/** The driver under a store (through any number of decorators), or null when it exposes none. */
export function driverOf(store: SessionStore): StoreDriver | null {
  return (store as { driver?: StoreDriver }).driver ?? null;
}

/** `store`'s head, or the same fields of its `get` when it has no `head` (types.ts SessionHeadReadable). */
export async function readHead(store: SessionStore, tenant: string, id: string): Promise<SessionHeadInfo> {
  if (canReadHead(store)) return store.head(tenant, id);
  return headOf(await store.get(tenant, id));
}

export class DelegatingStore implements SessionStore, SessionHeadReadable {
  protected readonly inner: SessionStore;

  constructor(inner: SessionStore) {
    this.inner = inner;
  }

  get driverName(): string {
    return this.inner.driverName;
  }

  get driver(): StoreDriver | null {
    return driverOf(this.inner);
  }

  create(tenant: string, input?: CreateSessionInput): Promise<Session> {
    return this.inner.create(tenant, input);
  }
  get(tenant: string, id: string): Promise<Session> {
    return this.inner.get(tenant, id);
  }
  head(tenant: string, id: string): Promise<SessionHeadInfo> {
    return readHead(this.inner, tenant, id);
  }
  list(tenant: string, query?: ListQuery): Promise<Page<Session>> {
    return this.inner.list(tenant, query);
  }
  update(tenant: string, id: string, patch: UpdateSessionInput, options?: WriteOptions): Promise<Session> {
    return this.inner.update(tenant, id, patch, options);
  }
  delete(tenant: string, id: string, options?: WriteOptions): Promise<void> {
    return this.inner.delete(tenant, id, options);
  }
  append(tenant: string, id: string, items: ItemInput[], options?: AppendOptions): Promise<AppendResult> {
    return this.inner.append(tenant, id, items, options);
  }
  patchState(tenant: string, id: string, patch: JsonValue, options?: WriteOptions): Promise<Session> {
    return this.inner.patchState(tenant, id, patch, options);
  }
  readItems(tenant: string, id: string, query?: ReadItemsQuery): Promise<Item[]> {
    return this.inner.readItems(tenant, id, query);
  }
  getItem(tenant: string, id: string, itemId: string): Promise<Item> {
    return this.inner.getItem(tenant, id, itemId);
  }
  deleteItem(tenant: string, id: string, itemId: string, options?: WriteOptions): Promise<Session> {
    return this.inner.deleteItem(tenant, id, itemId, options);
  }
  readWindow(tenant: string, id: string, query: WindowQuery): Promise<Window> {
    return this.inner.readWindow(tenant, id, query);
  }
  fork(tenant: string, id: string, input?: ForkInput): Promise<Session> {
    return this.inner.fork(tenant, id, input);
  }
  touch(tenant: string, id: string): Promise<Session> {
    return this.inner.touch(tenant, id);
  }
  renewClaim(tenant: string, id: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.inner.renewClaim(tenant, id, holder, ttlMs);
  }
  releaseClaim(tenant: string, id: string, holder: string): Promise<void> {
    return this.inner.releaseClaim(tenant, id, holder);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
