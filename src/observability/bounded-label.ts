/**
 * Keeps a label's value set bounded: the first `max` distinct values pass through, later new
 * values collapse into `other`. Tenants and requested model names come from callers, so without
 * this an attacker could grow the metric set without limit.
 */
export const OTHER_LABEL = "other";

export class BoundedLabel {
  readonly max: number;
  #seen = new Set<string>();

  constructor(max: number) {
    this.max = max;
  }

  /** The label value to record for `value` (`other` once `max` distinct values were seen). */
  value(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.max) return OTHER_LABEL;
    this.#seen.add(value);
    return value;
  }
}
