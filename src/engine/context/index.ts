/** The context engine: token accounting, model catalog, budgeted windows, pruning, compaction. */

export { fileTokens, imageTokens, MEDIA_COSTS, openaiImageTokens } from "../../store/media-tokens.ts";
export {
  CATALOG_PRICES_DATE,
  costOf,
  createModelCatalog,
  getDefaultCatalog,
  type ModelCatalog,
  type ModelCatalogOptions,
  type ModelInfo,
  type ModelOverride,
  type ModelPrices,
  resolveModel,
  validateModel,
} from "./catalog.ts";
export {
  type CompactAndRetryOptions,
  type CompactOptions,
  type CompactResult,
  compact,
  compactAndRetry,
  isContextLengthError,
  type SummarizeRequest,
  type Summarizer,
  shouldCompact,
} from "./compact.ts";
export { ContextOverflowError, isContextOverflowError } from "./errors.ts";
export { estimateTextTokens } from "./estimate.ts";
export { checkWindowInvariants, type WindowLike } from "./invariants.ts";
export { isPinned, PIN_FIELD, pinContent } from "./items.ts";
export { createMockSummarizer } from "./mock-summarizer.ts";
export { PRUNING_DEFAULTS, type PruningOptions, type PruningReport } from "./prune.ts";
export {
  createSummaryContent,
  isSummaryItem,
  renderSummary,
  type StructuredSummary,
  type SummaryContent,
  summaryToMessage,
  toModelInput,
} from "./summary.ts";
export { createModelTextCounter, createTokenCounter, type TokenCounterOptions } from "./token-counter.ts";
export { createTextCounter, type TextCounter, TOKENIZERS, type TokenizerName } from "./tokenizers.ts";
export {
  type BuildWindowOptions,
  buildWindow,
  type ContextWindow,
  OMITTED_ITEM_ID,
  type WindowInput,
} from "./window.ts";
