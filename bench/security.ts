/**
 * `npm run bench:security`: the per-request cost of the security layer.
 *  - auth: API key verification (warm 1 s cache, and a store read on every call), JWT (EdDSA) verify;
 *  - rate limit: one in-process reserve + settle (per-key and per-owner, requests and tokens);
 *  - encryption: append of one turn (2 items) and an 8k-token window read, plain vs encrypted,
 *    on memory: and sqlite:.
 * Overheads are set against the store work of one gateway turn (window read + 2-item append) on
 * the same driver: the "unauthenticated/unencrypted figure". Short runs: 2 shared cores.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAccessTokens } from "../src/security/access-tokens.ts";
import { createApiKeys } from "../src/security/api-keys.ts";
import { createSecurity } from "../src/security/create-security.ts";
import { createKeyring } from "../src/security/encryption/keyring.ts";
import { withEncryption } from "../src/security/encryption/with-encryption.ts";
import { createRateLimiter } from "../src/security/rate-limit/limiter.ts";
import { createMemoryRateLimitBackend } from "../src/security/rate-limit/memory-backend.ts";
import { createSystemRecords } from "../src/security/system-records.ts";
import { createStore } from "../src/store/create-store.ts";
import type { SessionStore } from "../src/store/types.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { percentile, sample } from "./lib/stats.ts";

const flags = parseBenchArgs(
  "npm run bench:security --",
  "Per-request cost of the security layer: API-key and JWT auth, rate limiting, encryption at rest.",
  { json: { type: "boolean", default: false, help: "print the figures as JSON" } },
);

const N = Number(process.env.BENCH_N ?? 3000);
const rows: string[][] = [];
const fmt = (n: number) => n.toFixed(1);

function record(name: string, samples: number[], baseline?: number): number {
  const p50 = percentile(samples, 50);
  const p99 = percentile(samples, 99);
  const pct = baseline === undefined ? "" : `${((p50 / baseline) * 100).toFixed(1)}%`;
  rows.push([name, fmt(p50), fmt(p99), pct]);
  return p50;
}

function text(i: number): {
  content: { type: string; role: string; content: { type: string; text: string }[] };
} {
  return {
    content: {
      type: "message",
      role: i % 2 ? "assistant" : "user",
      content: [
        {
          type: i % 2 ? "output_text" : "input_text",
          text: `message ${i} ${"lorem ipsum dolor sit amet ".repeat(12)}`,
        },
      ],
    },
  };
}

/** One gateway turn's store work: read the window, append input + output. */
async function turnCost(
  store: SessionStore,
  label: string,
): Promise<{ append: number; window: number; turn: number }> {
  const s = await store.create("bench");
  for (let i = 0; i < 200; i += 20)
    await store.append(
      "bench",
      s.id,
      Array.from({ length: 20 }, (_, j) => text(i + j)),
    );
  let i = 0;
  const append = record(
    `${label} append (2 items)`,
    await sample(() => store.append("bench", s.id, [text(i++), text(i++)]), N),
  );
  const window = record(
    `${label} window read (8k tokens)`,
    await sample(() => store.readWindow("bench", s.id, { maxTokens: 8000 }), N),
  );
  return { append, window, turn: append + window };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "holdfast-bench-sec-"));
  try {
    const keyring = createKeyring([{ kid: "bench", key: randomBytes(32) }]);
    const baselines: Record<string, number> = {};
    for (const url of ["memory:", `sqlite:${join(dir, "plain.db")}`]) {
      const name = url.split(":")[0] ?? url;
      const plain = await createStore(url);
      const base = await turnCost(plain, `${name} plain`);
      baselines[name] = base.turn;
      await plain.close();
      const encUrl = url === "memory:" ? url : `sqlite:${join(dir, "enc.db")}`;
      const enc = withEncryption(await createStore(encUrl), { keyring });
      const e = await turnCost(enc, `${name} encrypted`);
      rows.push([
        `${name} encryption overhead: append`,
        fmt(e.append - base.append),
        "",
        `${(((e.append - base.append) / base.append) * 100).toFixed(1)}%`,
      ]);
      rows.push([
        `${name} encryption overhead: window`,
        fmt(e.window - base.window),
        "",
        `${(((e.window - base.window) / base.window) * 100).toFixed(1)}%`,
      ]);
      await enc.close();
      const coldUrl = url === "memory:" ? url : `sqlite:${join(dir, "cold.db")}`;
      const cold = withEncryption(await createStore(coldUrl), { keyring, plaintextCacheBytes: 0 });
      const c = await turnCost(cold, `${name} encrypted, no plaintext cache`);
      rows.push([
        `${name} overhead without cache: window`,
        fmt(c.window - base.window),
        "",
        `${(((c.window - base.window) / base.window) * 100).toFixed(1)}%`,
      ]);
      await cold.close();
    }

    const store = await createStore("memory:");
    const records = createSystemRecords(store);
    const warm = createApiKeys({ records });
    const { secret } = await warm.create({ tenant: "bench", scopes: ["responses"] });
    const cold = createApiKeys({ records, cacheTtlMs: 0 });
    const sqliteStore = await createStore(`sqlite:${join(dir, "keys.db")}`);
    const sqliteKeys = createApiKeys({ records: createSystemRecords(sqliteStore), cacheTtlMs: 0 });
    const sqliteSecret = (await sqliteKeys.create({ tenant: "bench", scopes: ["responses"] })).secret;
    const mem = baselines.memory ?? Number.NaN;
    const sql = baselines.sqlite ?? Number.NaN;
    const auth = record(
      "API key verify (1 s cache warm)",
      await sample(() => warm.authenticate(secret), N),
      mem,
    );
    record("API key verify (memory store read)", await sample(() => cold.authenticate(secret), N), mem);
    record(
      "API key verify (sqlite store read)",
      await sample(() => sqliteKeys.authenticate(sqliteSecret), N),
      sql,
    );
    const limiter = createRateLimiter({
      backend: createMemoryRateLimitBackend(),
      perKey: { requestsPerMinute: 1e9, tokensPerMinute: 1e12 },
      perOwner: { requestsPerMinute: 1e9, tokensPerMinute: 1e12 },
    });
    const rl = record(
      "rate limit reserve+settle (in-process)",
      await sample(
        async () =>
          (
            await limiter.reserve({ tenant: "bench", keyId: "key_x", owner: "o", estimatedTokens: 500 })
          ).settle(420),
        N,
      ),
      mem,
    );
    rows.push([
      "auth (warm) + rate limit, vs memory turn",
      fmt(auth + rl),
      "",
      `${(((auth + rl) / mem) * 100).toFixed(1)}%`,
    ]);
    rows.push([
      "auth (warm) + rate limit, vs sqlite turn",
      fmt(auth + rl),
      "",
      `${(((auth + rl) / sql) * 100).toFixed(1)}%`,
    ]);
    const security = createSecurity({ store, issuer: "https://bench" });
    const { token } = await security.accessTokens.mint("bench", { owner: "alice" });
    record(
      "JWT (EdDSA) verify, repeated token (verified cache)",
      await sample(() => security.accessTokens.verify(token), N),
      mem,
    );
    const uncached = createAccessTokens({
      signingKeys: security.signingKeys,
      revocations: security.revocations,
      issuer: "https://bench",
      verifiedCacheSize: 0,
    });
    record(
      "JWT (EdDSA) verify, signature checked every time",
      await sample(() => uncached.verify(token), N),
      mem,
    );
    await store.close();
    await sqliteStore.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const header = ["measure", "p50 µs", "p99 µs", "vs turn / overhead"];
  if (flags.json) {
    const figures = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
    console.log(JSON.stringify({ node: process.version, samples: N, figures }, null, 2));
    return;
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log([line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
  console.log(`\nN=${N} per measure, Node ${process.version}.`);
}

await main();
