/**
 * The benchmarks in bench/ that `npm run bench` (bench/run-all.ts) and `holdfast bench` run: one
 * list for both, so the CLI can refuse an unknown name in its own format before spawning anything.
 */
export const BENCHMARK_NAMES = [
  "store",
  "context",
  "security",
  "interop",
  "migrate",
  "sweep",
  "gateway",
  "dashboard",
] as const;
