export { BoundedLabel, OTHER_LABEL } from "./bounded-label.ts";
export { createMetrics, type HoldfastMetrics, type MetricsOptions } from "./create-metrics.ts";
export {
  currentRequestId,
  type LoggingOptions,
  loggingOptions,
  REQUEST_ID_HEADER,
  registerRequestLogging,
  requestIdFrom,
} from "./logging.ts";
export {
  type CompactionUsage,
  type RegisterMetricsOptions,
  recordCompaction,
  recordTurn,
  registerMetrics,
  type TurnUsage,
} from "./metrics.ts";
export {
  type ObserveStorageOptions,
  observeStorage,
  type StorageTotals,
  scanStorageTotals,
} from "./storage-gauges.ts";
export { type StoreMetricsOptions, withStoreMetrics } from "./store-metrics.ts";
export { observeSweeper } from "./sweeper-metrics.ts";
export { failSpan, inSpan, registerTracing, TRACER_NAME, tracer } from "./tracing.ts";
export { observeRouter, withProviderMetrics } from "./upstream-metrics.ts";
export { observeWindowCache } from "./window-cache-metrics.ts";
