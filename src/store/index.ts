export { createSessionStore, type StoreCoreOptions } from "./core.ts";
export { type CreateStoreOptions, createStore, registerDriver } from "./create-store.ts";
export type * from "./driver.ts";
export * from "./errors.ts";
export { mergePatch } from "./merge-patch.ts";
export { estimateTokens, type TokenCounter } from "./tokens.ts";
export * from "./types.ts";
export { pairSafeStart } from "./window-pairs.ts";
