/**
 * Keeps a label's value set bounded: the first `max` distinct values pass through, later new
 * values collapse into `other`. Tenants and requested model names come from callers, so without
 * this an attacker could grow the metric set without limit. A value longer than
 * `MAX_LABEL_LENGTH` is `other` too: a few huge names would otherwise bloat every scrape.
 */
export const OTHER_LABEL = "other";

/** Longest label value kept as is. */
export const MAX_LABEL_LENGTH = 128;

/** Error codes recorded as an `outcome`: identifiers (`not_found`, `ECONNRESET`); anything else is `error`. */
const CODE_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

export class BoundedLabel {
  readonly max: number;
  #seen = new Set<string>();

  constructor(max: number) {
    this.max = max;
  }

  /** The label value to record for `value` (`other` once `max` distinct values were seen). */
  value(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.max || value.length > MAX_LABEL_LENGTH) return OTHER_LABEL;
    this.#seen.add(value);
    return value;
  }
}

/** The `outcome` label of a failed call: its error's code when it is an identifier, bounded by `outcomes`. */
export function errorOutcome(error: unknown, outcomes: BoundedLabel): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && CODE_PATTERN.test(code) ? outcomes.value(code) : "error";
}
