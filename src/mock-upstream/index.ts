/** The mock upstream server (OpenAI- and Anthropic-compatible) for tests, benchmarks and offline use. */

export { type MockUpstreamOptions, resolveMockOptions } from "./options.ts";
export { createMockUpstream, type MockUpstream, type MockUpstreamStats } from "./server.ts";
