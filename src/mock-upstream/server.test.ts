/** The mock upstream itself: routes, determinism, chaos replay by seed, options validation. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createMockUpstream, resolveMockOptions } from "./index.ts";

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
  });
}

test("routes: models, chat, 404, bad JSON", async () => {
  const mock = await createMockUpstream({ models: ["a", "b"] });
  try {
    const models = (await (await fetch(`${mock.url}/v1/models`)).json()) as { data: Array<{ id: string }> };
    assert.deepEqual(
      models.data.map((m) => m.id),
      ["a", "b"],
    );
    const chat = await post(`${mock.url}/v1/chat/completions`, {
      model: "a",
      messages: [{ role: "user", content: "hey" }],
    });
    const body = (await chat.json()) as {
      choices: Array<{ message: { content: string } }>;
      usage: { completion_tokens: number };
    };
    assert.equal(body.choices[0]?.message.content, 'You said: "hey" (1 words).');
    assert.equal((await post(`${mock.url}/v1/nope`, {})).status, 404);
    const bad = await fetch(`${mock.url}/v1/messages`, { method: "POST", body: "{not json" });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { type: string }).type, "error");
  } finally {
    await mock.close();
  }
});

test("error answers carry retry-after; the x-mock-scenario header forces a scenario", async () => {
  const mock = await createMockUpstream({ retryAfterMs: 2500 });
  try {
    const response = await post(
      `${mock.url}/v1/chat/completions`,
      { messages: [] },
      { "x-mock-scenario": "error:429" },
    );
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("retry-after"), "3");
    assert.equal(response.headers.get("retry-after-ms"), "2500");
    await response.body?.cancel();
  } finally {
    await mock.close();
  }
});

test("chaos is replayable: the same seed gives the same sequence of outcomes", async () => {
  async function outcomes(seed: number): Promise<number[]> {
    const mock = await createMockUpstream({ errorRate: 0.5, seed });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const response = await post(`${mock.url}/v1/responses`, { input: "x" });
        statuses.push(response.status);
        await response.body?.cancel();
      }
      return statuses;
    } finally {
      await mock.close();
    }
  }
  const first = await outcomes(42);
  assert.deepEqual(await outcomes(42), first);
  assert.ok(first.some((s) => s === 200) && first.some((s) => s >= 429));
});

test("options are validated naming the option", () => {
  // Library users read the library's names; the CLI rewords this to "--error-rate must…".
  assert.throws(() => resolveMockOptions({ errorRate: 1.5 }), {
    code: "invalid_argument",
    message: /^Mock upstream option errorRate must be between 0 and 1/,
  });
  assert.throws(() => resolveMockOptions({ errorRate: 0.6, hangRate: 0.6 }), /must not exceed 1/);
  assert.throws(() => resolveMockOptions({ latencyMs: -1 }), /latencyMs/);
  assert.throws(() => resolveMockOptions({ script: ["explode"] }), /script entry 'explode'/);
});
