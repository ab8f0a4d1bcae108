/**
 * The counter every store `holdfast serve` and the CLI open counts items with, so an item gets the
 * same stored `tokens` whichever of them wrote it (the CLI's imports and compactions used the
 * store's bytes / 4 estimate while serve used o200k). One place, so the two cannot drift apart.
 */
import type { TokenCounter } from "../../store/tokens.ts";
import { createTokenCounter } from "./token-counter.ts";

/** o200k: exact for current OpenAI models, the calibration base for the others. */
export const STORED_TOKENS_MODEL = "gpt-4o";

/** The counter to pass as `countTokens` to createStore and withEncryption. */
export function createStoredTokenCounter(): TokenCounter {
  return createTokenCounter(STORED_TOKENS_MODEL);
}
