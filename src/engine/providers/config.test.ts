/** The providers/models/routes configuration: validation messages, env zero-config, route resolution. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createMockUpstream } from "../../mock-upstream/index.ts";
import { InvalidArgumentError } from "../../store/errors.ts";
import { apiKeyOf, listModels, parseProvidersConfig, resolveTargets } from "./config.ts";
import { createProviderLayer } from "./create-providers.ts";

test("nothing configured: only the mock provider, serving every model", () => {
  const config = parseProvidersConfig(undefined, {});
  assert.deepEqual(
    config.providers.map((p) => [p.name, p.type]),
    [["mock", "mock"]],
  );
  assert.equal(config.defaultProvider, "mock");
  assert.deepEqual(resolveTargets(config, "gpt-4o"), [{ provider: "mock", model: "gpt-4o" }]);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.providers[0]));
});

test("zero-config from env: OpenAI (Responses on api.openai.com, Chat elsewhere) and Anthropic", () => {
  const openai = parseProvidersConfig(undefined, { OPENAI_API_KEY: "sk-1", ANTHROPIC_API_KEY: "sk-ant" });
  assert.deepEqual(
    openai.providers.map((p) => [p.name, p.type, p.baseUrl, p.apiKeyEnv]),
    [
      ["openai", "openai-responses", "https://api.openai.com/v1", "OPENAI_API_KEY"],
      ["anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"],
      ["mock", "mock", "http://mock.invalid", null],
    ],
  );
  assert.deepEqual(resolveTargets(openai, "gpt-4o-mini"), [{ provider: "openai", model: "gpt-4o-mini" }]);
  assert.deepEqual(resolveTargets(openai, "claude-sonnet-4-5"), [
    { provider: "anthropic", model: "claude-sonnet-4-5" },
  ]);
  assert.deepEqual(resolveTargets(openai, "anthropic/claude-x"), [
    { provider: "anthropic", model: "claude-x" },
  ]);
  assert.deepEqual(resolveTargets(openai, "mock"), [{ provider: "mock", model: "mock" }]);
  const ollama = parseProvidersConfig(undefined, { OPENAI_BASE_URL: "http://localhost:11434/v1" });
  assert.equal(ollama.providers[0]?.type, "openai-chat");
  assert.equal(ollama.providers[0]?.apiKeyEnv, null);
});

test("a full section parses: timeouts, retry/breaker defaults and overrides, models, routes with weights", () => {
  const config = parseProvidersConfig(
    {
      retry: { maxRetries: 3 },
      breaker: { failureThreshold: 2 },
      providers: [
        {
          name: "groq",
          type: "openai-chat",
          baseUrl: "https://api.groq.com/openai/v1",
          apiKeyEnv: "GROQ_KEY",
          timeouts: { headersMs: 5000 },
          retry: { maxRetries: 1 },
        },
        {
          name: "claude",
          type: "anthropic",
          apiKeyEnv: "ANTHROPIC_API_KEY",
          headers: { "anthropic-beta": "x" },
        },
      ],
      models: { "llama-3": { contextWindow: 8192, pricing: { input: 0.05, output: 0.08 } } },
      routes: {
        fast: [
          { provider: "groq", model: "llama-3", weight: 2 },
          { provider: "claude", model: "claude-haiku", weight: 1 },
        ],
        safe: { targets: [{ provider: "claude", model: "claude-sonnet" }] },
      },
    },
    {},
  );
  const groq = config.providers[0]!;
  assert.equal(groq.timeouts.headersMs, 5000);
  assert.equal(groq.timeouts.connectMs, 10_000);
  assert.equal(groq.retry.maxRetries, 1);
  assert.equal(config.providers[1]!.retry.maxRetries, 3);
  assert.equal(groq.breaker.failureThreshold, 2);
  assert.equal(config.defaultProvider, "groq");
  assert.deepEqual(config.models["llama-3"], {
    contextWindow: 8192,
    maxOutputTokens: null,
    pricing: { input: 0.05, output: 0.08, cachedInput: 0.05, cacheWrite: 0.05, cacheWrite1h: 0.1 },
  });
  assert.equal(resolveTargets(config, "fast").length, 2);
  assert.deepEqual(resolveTargets(config, "safe"), [{ provider: "claude", model: "claude-sonnet" }]);
  assert.deepEqual(listModels(config), ["fast", "llama-3", "mock", "safe"]);
});

const BAD: Array<[unknown, RegExp]> = [
  [{ providers: {} }, /providers must be an array/],
  [
    { providers: [{ name: "x", type: "gemini" }] },
    /providers\[0\]\.type must be one of openai-chat, openai-responses, anthropic, mock; got 'gemini'/,
  ],
  [
    { providers: [{ name: "x", type: "anthropic", baseUrl: "ftp://x" }] },
    /providers\[0\]\.baseUrl must be an http\(s\) URL/,
  ],
  [
    { providers: [{ name: "x", type: "anthropic", apiKeyEnv: "sk-ant-123" }] },
    /providers\[0\]\.apiKeyEnv must be the name of an environment variable/,
  ],
  [
    { providers: [{ name: "x", type: "anthropic", timeouts: { headerMs: 5 } }] },
    /providers\[0\]\.timeouts\.headerMs is not a timeout/,
  ],
  [
    { providers: [{ name: "x", type: "anthropic", retry: { maxRetries: -1 } }] },
    /providers\[0\]\.retry\.maxRetries must be a non-negative integer/,
  ],
  [
    {
      providers: [
        { name: "a", type: "anthropic" },
        { name: "a", type: "anthropic" },
      ],
    },
    /providers\[1\]\.name duplicates/,
  ],
  [
    { routes: { fast: [{ provider: "nope", model: "m" }] } },
    /routes\.fast\[0\]\.provider names 'nope', which is not a configured provider/,
  ],
  [{ routes: { fast: [] } }, /routes\.fast needs at least one target/],
  [
    { routes: { fast: [{ provider: "mock", model: "m", weight: 0 }] } },
    /routes\.fast\[0\]\.weight must be a positive number/,
  ],
  [{ models: { m: { contextWindow: "big" } } }, /models\.m\.contextWindow must be a positive integer/],
  // 1e300 is an "integer" to Number.isInteger: budgets computed from it were no longer exact.
  [{ models: { m: { contextWindow: 1e300 } } }, /models\.m\.contextWindow must be at most 2147483647 tokens/],
  [
    { models: { m: { maxOutputTokens: 2 ** 31 } } },
    /models\.m\.maxOutputTokens must be at most 2147483647 tokens/,
  ],
  [
    { providers: [{ name: "x", type: "anthropic", retry: { maxRetries: 1_000_000 } }] },
    /providers\[0\]\.retry\.maxRetries must be a non-negative integer of at most 10, got 1000000/,
  ],
  [{ retry: { maxRetries: 11 } }, /retry\.maxRetries must be a non-negative integer of at most 10/],
  // Past a Node timer's limit the timer fires after 1 ms: every request would time out at once.
  [
    { providers: [{ name: "x", type: "anthropic", timeouts: { bodyMs: 3_000_000_000 } }] },
    /providers\[0\]\.timeouts\.bodyMs must be at most 2147483647 ms/,
  ],
  [
    { providers: [{ name: "x", type: "anthropic", retry: { maxDelayMs: 3_000_000_000 } }] },
    /providers\[0\]\.retry\.maxDelayMs must be a non-negative integer of at most 2147483647 ms/,
  ],
];

test("bad sections are rejected with a message naming the field", () => {
  for (const [raw, message] of BAD) {
    assert.throws(
      () => parseProvidersConfig(raw, {}),
      (error: Error) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.match(error.message, message);
        return true;
      },
    );
  }
});

test("a missing API key variable fails at start-up, naming the variable", () => {
  const config = parseProvidersConfig(
    { providers: [{ name: "oa", type: "openai-chat", apiKeyEnv: "MY_KEY" }] },
    {},
  );
  assert.throws(() => apiKeyOf(config.providers[0]!, {}), /apiKeyEnv names MY_KEY, which is not set/);
  assert.throws(() => createProviderLayer(config, { env: {} }), /MY_KEY/);
  assert.equal(apiKeyOf(config.providers[0]!, { MY_KEY: "k" }), "k");
});

test("a misspelt key anywhere in the section is refused, naming it and the known keys", () => {
  const typos: Array<[unknown, RegExp]> = [
    [
      { providers: [{ name: "x", type: "openai-chat", baseURL: "http://h/v1" }] },
      /providers\[0\]\.baseURL is not a known setting; use name, type, baseUrl, apiKeyEnv/,
    ],
    [
      { providers: [{ name: "x", type: "openai-chat", api_key_env: "K" }] },
      /providers\[0\]\.api_key_env is not a known setting/,
    ],
    [
      { providers: [{ name: "x", type: "anthropic", retry: { maxRetry: 0 } }] },
      /providers\[0\]\.retry\.maxRetry is not a known setting; use maxRetries/,
    ],
    [
      { providers: [{ name: "x", type: "anthropic", breaker: { threshold: 1 } }] },
      /providers\[0\]\.breaker\.threshold is not a known setting; use failureThreshold/,
    ],
    [{ retry: { max_retries: 1 } }, /retry\.max_retries is not a known setting/],
    [{ models: { m: { context_window: 8192 } } }, /models\.m\.context_window is not a known setting/],
    [
      { models: { m: { pricing: { input: 1, output: 2, cached: 0.5 } } } },
      /models\.m\.pricing\.cached is not a known setting; use input, output, cachedInput, cacheWrite, cacheWrite1h/,
    ],
    [
      { routes: { fast: [{ provider: "mock", model: "m", weigth: 3 }] } },
      /routes\.fast\[0\]\.weigth is not a known setting; use provider, model, weight/,
    ],
    [
      { routes: { fast: { targets: [{ provider: "mock", model: "m" }], strategy: "x" } } },
      /routes\.fast\.strategy is not a known setting; use targets/,
    ],
  ];
  for (const [raw, message] of typos) {
    assert.throws(
      () => parseProvidersConfig(raw, {}),
      (error: Error) => error instanceof InvalidArgumentError && message.test(error.message),
      JSON.stringify(raw),
    );
  }
});

test("environment values: surrounding whitespace is dropped, a bad base URL or key fails at start-up naming the variable", async () => {
  const env = { OPENAI_API_KEY: "sk-abcdefgh\n", OPENAI_BASE_URL: " http://127.0.0.1:1/v1\n" };
  const config = parseProvidersConfig(undefined, env);
  assert.equal(config.providers[0]?.baseUrl, "http://127.0.0.1:1/v1");
  assert.equal(apiKeyOf(config.providers[0]!, env), "sk-abcdefgh");
  // The key is sent as it is meant: the request reaches the network (nothing listens on port 1).
  const layer = createProviderLayer(config, { env });
  try {
    await assert.rejects(
      layer.router.complete({ model: "m", input: [{ type: "message", role: "user", content: "hi" }] }),
      (error: Error) => !/authorization/.test(error.message),
    );
  } finally {
    await layer.close();
  }
  for (const [bad, message] of [
    [{ OPENAI_BASE_URL: "not a url" }, /OPENAI_BASE_URL must be an http\(s\) URL such as/],
    [{ OPENAI_BASE_URL: "localhost:11434/v1" }, /OPENAI_BASE_URL must be an http\(s\) URL/],
    [{ ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: "api.anthropic.com" }, /ANTHROPIC_BASE_URL must be/],
  ] as const) {
    assert.throws(
      () => parseProvidersConfig(undefined, bad),
      (error: Error) => error instanceof InvalidArgumentError && message.test(error.message),
    );
  }
  const keyed = parseProvidersConfig(undefined, { OPENAI_API_KEY: "sk-ab\ncdefgh" });
  assert.throws(
    () => createProviderLayer(keyed, { env: { OPENAI_API_KEY: "sk-ab\ncdefgh" } }),
    (error: Error) =>
      error instanceof InvalidArgumentError &&
      /OPENAI_API_KEY holds characters an HTTP header cannot carry/.test(error.message),
  );
  // Only whitespace counts as unset: no provider from it.
  assert.deepEqual(
    parseProvidersConfig(undefined, { OPENAI_API_KEY: " \n" }).providers.map((p) => p.name),
    ["mock"],
  );
});

test("a base URL with a query string, a fragment or credentials is refused (only origin and path are ever used)", () => {
  const bad: Array<[string, RegExp]> = [
    ["https://proxy.example/v1?api-version=2024-01-01", /must not carry a query string/],
    ["https://proxy.example/v1?", /must not carry a query string/],
    ["https://proxy.example/v1#frag", /must not carry a fragment/],
    ["https://user:secret@proxy.example/v1", /must not carry credentials \(user:pass@\)/],
    ["https://user@proxy.example/v1", /must not carry credentials/],
  ];
  for (const [baseUrl, message] of bad) {
    for (const type of ["openai-chat", "anthropic"]) {
      assert.throws(
        () => parseProvidersConfig({ providers: [{ name: "x", type, baseUrl }] }, {}),
        (error: Error) =>
          error instanceof InvalidArgumentError &&
          error.message.startsWith("Invalid configuration: providers[0].baseUrl ") &&
          message.test(error.message),
        `${type} ${baseUrl}`,
      );
    }
    assert.throws(
      () => parseProvidersConfig(undefined, { OPENAI_BASE_URL: baseUrl }),
      (error: Error) =>
        error instanceof InvalidArgumentError && /OPENAI_BASE_URL must not carry/.test(error.message),
    );
    assert.throws(
      () => parseProvidersConfig(undefined, { ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: baseUrl }),
      (error: Error) =>
        error instanceof InvalidArgumentError && /ANTHROPIC_BASE_URL must not carry/.test(error.message),
    );
  }
});

test("an Anthropic base URL works with or without a trailing /v1 (the OpenAI convention users copy)", async () => {
  const mock = await createMockUpstream();
  try {
    await anthropicRootForms(mock.url);
  } finally {
    await mock.close();
  }
});

async function anthropicRootForms(root: string): Promise<void> {
  const forms = [root, `${root}/`, `${root}/v1`, `${root}/v1/`];
  const config = parseProvidersConfig(
    { providers: forms.map((baseUrl, i) => ({ name: `a${i}`, type: "anthropic", baseUrl })) },
    {},
  );
  assert.deepEqual(
    config.providers.filter((p) => p.type === "anthropic").map((p) => p.baseUrl),
    [root, root, root, root],
  );
  const fromEnv = parseProvidersConfig(undefined, {
    ANTHROPIC_API_KEY: "k",
    ANTHROPIC_BASE_URL: `${root}/v1`,
  });
  assert.equal(fromEnv.providers[0]?.baseUrl, root);
  // An OpenAI base URL keeps its /v1: there it is part of the API root (`{baseUrl}/chat/completions`).
  const openai = parseProvidersConfig(undefined, { OPENAI_BASE_URL: `${root}/v1` });
  assert.equal(openai.providers[0]?.baseUrl, `${root}/v1`);
  const layer = createProviderLayer(config, { env: {} });
  try {
    for (const name of ["a0", "a2", "a3"]) {
      const result = await layer.providers.get(name)!.complete({
        model: "mock",
        input: [{ type: "message", role: "user", content: "hello there" }],
      });
      assert.equal(result.status, "completed", name);
    }
  } finally {
    await layer.close();
  }
}
