/** Test helper: a rate-limit backend that tells how many tokens its token buckets were charged. */
import type { BucketSpec, RateLimitBackend } from "../security/rate-limit/backend.ts";
import { createMemoryRateLimitBackend } from "../security/rate-limit/memory-backend.ts";

/** The in-process backend, keeping the net tokens taken from token buckets (takes minus refunds). */
export function countingBackend(): RateLimitBackend & { net: () => number } {
  const inner = createMemoryRateLimitBackend({ clock: () => 0 });
  let net = 0;
  const tokens = (spec: BucketSpec): boolean => spec.key.endsWith(":tpm");
  return {
    name: "counting",
    async take(specs) {
      const result = await inner.take(specs);
      if (result.ok) for (const spec of specs) if (tokens(spec)) net += spec.cost;
      return result;
    },
    async adjust(spec, delta) {
      if (tokens(spec)) net -= delta;
      await inner.adjust(spec, delta);
    },
    close: () => inner.close(),
    net: () => net,
  };
}
