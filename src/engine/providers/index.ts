/** The provider layer: neutral turn contract, adapters, resilience and configuration. */

export { createAnthropicProvider } from "./anthropic.ts";
export {
  type BreakerState,
  type BreakerTransition,
  CircuitBreaker,
  type CircuitBreakerOptions,
  DEFAULT_BREAKER,
} from "./circuit-breaker.ts";
export {
  apiKeyOf,
  listModels,
  MOCK_PROVIDER,
  type ModelConfig,
  type ProviderConfig,
  type ProvidersConfig,
  parseProvidersConfig,
  resolveTargets,
} from "./config.ts";
export { createProviderLayer, type ProviderLayer, type ProviderLayerOptions } from "./create-providers.ts";
export * from "./errors.ts";
export {
  createHttpClient,
  createPool,
  DEFAULT_TIMEOUTS,
  type HttpClient,
  type PoolStats,
  type TimeoutOptions,
} from "./http.ts";
export { createMockProvider } from "./mock.ts";
export { createOpenAIChatProvider } from "./openai-chat.ts";
export { createOpenAIResponsesProvider } from "./openai-responses.ts";
export { contentText, StreamTracker } from "./output.ts";
export { backoffDelay, DEFAULT_RETRY, type RetryOptions, withRetry } from "./retry.ts";
export {
  type AttemptRecord,
  createRouter,
  type RefitInput,
  type RoutedResult,
  type RoutedStream,
  type RouteOptions,
  Router,
  type RouterOptions,
  type RouteTarget,
} from "./router.ts";
export * from "./types.ts";
