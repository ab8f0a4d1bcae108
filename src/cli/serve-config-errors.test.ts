/**
 * `holdfast serve` with a bad configuration, through the real binary: each case must stop at
 * start-up with exit code 2 and one line naming the setting, never start serving nor crash later.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "./cli-helpers.ts";

interface Case {
  name: string;
  file?: unknown;
  env?: Record<string, string>;
  /** `--store` (default memory:). */
  store?: string;
  message: RegExp;
}

/** What a hostile value appends to serve's "listening" line to forge a second one. */
const FORGED = "\nholdfast listening on http://evil.example:1";

/** An identity provider as `security.oidc_providers` lists it; each case spoils one thing. */
const IDP = {
  issuer: "https://idp.example.com",
  jwks_url: "https://idp.example.com/jwks.json",
  audience: "holdfast",
  tenant: "acme",
};

const CASES: Case[] = [
  {
    name: "a misspelt provider key",
    file: { providers: [{ name: "local", type: "openai-chat", baseURL: "http://127.0.0.1:1/v1" }] },
    message: /providers\[0\]\.baseURL is not a known setting/,
  },
  {
    // The documented top-level provider defaults are read, so their values are checked.
    name: "a defaultProvider that names no provider",
    file: { retry: { maxRetries: 1 }, breaker: { openMs: 5000 }, defaultProvider: "nope" },
    message: /defaultProvider names 'nope', which is not a configured provider/,
  },
  {
    name: "a rate_limits section that is not an object",
    file: { rate_limits: "yes" },
    message: /rate_limits must be an object/,
  },
  {
    name: "a misspelt rate_limits key",
    file: { rate_limits: { per_kye: { requests_per_minute: 5 } } },
    message: /rate_limits\.per_kye is not a setting/,
  },
  {
    name: "a rate limit that is not a number",
    file: { rate_limits: { per_key: { requests_per_minute: "abc" } } },
    message: /rate_limits\.per_key\.requests_per_minute must be a number of at least 1/,
  },
  {
    name: "an identity provider's JWKS URL over plain http off loopback",
    file: { security: { oidc_providers: [{ ...IDP, jwks_url: "http://idp.example.com/jwks.json" }] } },
    message:
      /security\.oidc_providers\[0\]\.jwks_url in config file '.*case-\d+\.json' must be an https URL \(http only on a loopback host/,
  },
  {
    name: "an identity provider with an empty audience",
    file: { security: { oidc_providers: [{ ...IDP, audience: "" }] } },
    message: /security\.oidc_providers\[0\]\.audience in config file '.*case-\d+\.json' is required/,
  },
  {
    name: "two identity providers for one issuer",
    file: { security: { oidc_providers: [IDP, { ...IDP, tenant: "other" }] } },
    message:
      /security\.oidc_providers\[1\]\.issuer in config file '.*' 'https:\/\/idp\.example\.com' is already/,
  },
  {
    name: "a misspelt identity provider key",
    file: { security: { oidc_providers: [{ ...IDP, audiences: ["a"] }] } },
    message: /security\.oidc_providers\[0\]\.audiences in config file '.*' is not a setting/,
  },
  {
    name: "an identity provider's clock tolerance out of range",
    file: { security: { oidc_providers: [{ ...IDP, clock_tolerance_s: 3600 }] } },
    message:
      /security\.oidc_providers\[0\]\.clock_tolerance_s in config file '.*' must be a whole number of seconds from 0 to 300 \(default 30\) \(got 3600\)/,
  },
  {
    name: "an identity provider's JWKS timeout in seconds rather than milliseconds",
    file: { security: { oidc_providers: [{ ...IDP, jwks_timeout_ms: 5 }] } },
    message:
      /security\.oidc_providers\[0\]\.jwks_timeout_ms in config file '.*' must be a whole number of milliseconds from 100 to 60000 \(default 5000\) \(got 5\)/,
  },
  {
    name: "an identity provider's issuer with a line break (it is printed on the start-up line)",
    file: { security: { oidc_providers: [{ ...IDP, issuer: `https://idp.example.com${FORGED}` }] } },
    message:
      /security\.oidc_providers\[0\]\.issuer in config file '.*case-\d+\.json' must not contain control or other non-printable characters \(found U\+000A at character 24\)/,
  },
  {
    name: "a store URL with a line break (it is printed on the start-up line)",
    store: `memory:${FORGED}`,
    message: /--store must not contain control or other non-printable characters \(found U\+000A/,
  },
  {
    name: "an archive URL from the environment with a line break (it is printed on the start-up line)",
    // Outside the repository: the old code created this file (line break and all) and served.
    env: { HOLDFAST_ARCHIVE: `sqlite:${path.join(tmpdir(), "holdfast-never.db")}${FORGED}` },
    message: /HOLDFAST_ARCHIVE must not contain control or other non-printable characters \(found U\+000A/,
  },
  {
    name: "a base URL from the environment that is not a URL",
    env: { OPENAI_BASE_URL: "not a url" },
    message: /OPENAI_BASE_URL must be an http\(s\) URL/,
  },
  {
    name: "an API key with a line break inside",
    env: { OPENAI_API_KEY: "sk-ab\ncdefgh" },
    message: /OPENAI_API_KEY holds characters an HTTP header cannot carry/,
  },
  {
    name: "a shutdown timeout from the environment that is not a number",
    env: { HOLDFAST_SHUTDOWN_TIMEOUT_MS: "abc" },
    message: /HOLDFAST_SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds .* \(got 'abc'\)/,
  },
];

describe("serve refuses a bad configuration at start-up", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-config-errors-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const args = ["serve", "--port", "0", "--store", c.store ?? "memory:", "--log-level", "silent"];
      if (c.file !== undefined) {
        const file = path.join(dir, `case-${i}.json`);
        await writeFile(file, JSON.stringify(c.file));
        args.push("--config", file);
      }
      // A server that started would run until killed; the timeout turns that into a failure.
      const res = await runCli(args, { env: c.env ?? {}, timeoutMs: 15_000 });
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /^holdfast: .* \[invalid_argument\]\n$/);
      assert.match(res.stderr, c.message);
    });
  }
});
