/**
 * `holdfast/client`: the typed HTTP client and the offline layer (cache, durable queue, sync).
 * Browser-safe. The Node-only JSON-file storage is `holdfast/client/file-storage`.
 */
export { type ClientTokens, TokenManager } from "./auth.ts";
export {
  type AppendOptions,
  type CreateConversationInput,
  createHoldfastClient,
  type HoldfastClient,
  type HoldfastClientOptions,
  type ListItemsOptions,
} from "./client.ts";
export { type CachedConversation, ConversationCache } from "./conversation-cache.ts";
export {
  HoldfastApiError,
  HoldfastClientError,
  HoldfastNetworkError,
  isConflictError,
  isNetworkError,
} from "./errors.ts";
export type { ConflictContext, ConflictHandler, ConflictResolution, FlushResult } from "./flush.ts";
export type { FetchLike } from "./http.ts";
export {
  type ConversationView,
  createOfflineClient,
  type OfflineClient,
  type OfflineClientOptions,
  type OfflineStatus,
} from "./offline-client.ts";
export type { QueuedAppend } from "./outbox.ts";
export { parseSse, type SseEvent } from "./sse.ts";
export { createIndexedDbStorage, type IndexedDbStorageOptions } from "./storage/indexeddb-storage.ts";
export { createMemoryStorage } from "./storage/memory-storage.ts";
export type { OfflineStorage, StorageTransaction } from "./storage/types.ts";
export type * from "./types.ts";
