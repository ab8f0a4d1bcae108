/** The security library: tenants and API keys, end-user tokens, OIDC, rate limits, encryption at rest. */
export * from "./access-tokens.ts";
export * from "./api-keys.ts";
export * from "./authenticate.ts";
export * from "./create-security.ts";
export { rotateMasterKey } from "./encryption/data-keys.ts";
export * from "./encryption/keyring.ts";
export {
  type PlaintextLimits,
  sealedItemBytes,
  sealedStateBytes,
  sealedStoreLimits,
} from "./encryption/sealed-limits.ts";
export * from "./encryption/with-encryption.ts";
export * from "./errors.ts";
export * from "./hostile-input.ts";
export * from "./oidc.ts";
export type { BucketSpec, RateLimitBackend, SpendCounter, TakeResult } from "./rate-limit/backend.ts";
export { isSpendCounter, utcDay } from "./rate-limit/backend.ts";
export * from "./rate-limit/daily-spend.ts";
export * from "./rate-limit/limiter.ts";
export * from "./rate-limit/memory-backend.ts";
export * from "./rate-limit/redis-backend.ts";
export * from "./rate-limit/redis-client.ts";
export * from "./redact.ts";
export * from "./refresh-tokens.ts";
export * from "./revocations.ts";
export * from "./scopes.ts";
export * from "./signing-keys.ts";
export {
  createSystemRecords,
  isReservedTenant,
  RESERVED_TENANT_PREFIX,
  type SystemRecord,
  type SystemRecords,
} from "./system-records.ts";
export * from "./tenants.ts";
