import { HoldfastError, type HoldfastErrorOptions } from "../../store/errors.ts";

/**
 * The newest turn (with pinned items and the latest summary) does not fit the model's window
 * budget even after pruning. The caller's fault: shorten the input or pick a larger model.
 */
export class ContextOverflowError extends HoldfastError {
  /** Tokens the smallest valid window needs. */
  readonly needed: number;
  /** Tokens available for input. */
  readonly budget: number;

  constructor(needed: number, budget: number, detail: string, options?: HoldfastErrorOptions) {
    super(
      "context_overflow",
      `The smallest valid window needs ${needed} tokens but the input budget is ${budget} (${detail}): ` +
        `${needed - budget} tokens too many. Shorten the newest input, lower max output tokens, compact the session, or use a model with a larger context window.`,
      { param: "input", ...options },
    );
    this.needed = needed;
    this.budget = budget;
  }

  /** How many tokens over budget. */
  get excess(): number {
    return this.needed - this.budget;
  }
}

export function isContextOverflowError(value: unknown): value is ContextOverflowError {
  return value instanceof HoldfastError && value.code === "context_overflow";
}
