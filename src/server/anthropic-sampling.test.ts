/**
 * Sampling options sent to Claude. Claude 4.5 models and later answer 400 ("`temperature` and
 * `top_p` cannot both be specified for this model") to a request with both, which every OpenAI
 * client may send; only temperature is now sent then. A temperature above Anthropic's maximum (1)
 * is clamped to 1, not scaled (docs/providers.md says why).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { anthropicGatewayPerSuite } from "./fake-anthropic-upstream.ts";

const MODEL = "claude/claude-sonnet-4-5";

describe("temperature and top_p sent to an Anthropic upstream", () => {
  const claude = anthropicGatewayPerSuite(() => ({ content: [{ type: "text", text: "ok" }] }));

  const sent = async (fields: Record<string, unknown>, stream = false) => {
    const res = await claude.t.app.inject({
      method: "POST",
      url: "/v1/responses",
      payload: { model: MODEL, input: "hi", stream, ...fields },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = claude.upstream.seen.at(-1)!;
    return { temperature: body.temperature, top_p: body.top_p };
  };

  test("with both, only temperature is sent (newer Claude models refuse both)", async () => {
    assert.deepEqual(await sent({ temperature: 0.4, top_p: 0.9 }), { temperature: 0.4, top_p: undefined });
    assert.deepEqual(await sent({ temperature: 0.4, top_p: 0.9 }, true), {
      temperature: 0.4,
      top_p: undefined,
    });
  });

  test("top_p alone is sent", async () => {
    assert.deepEqual(await sent({ top_p: 0.9 }), { temperature: undefined, top_p: 0.9 });
  });

  test("a temperature above 1 is clamped to 1; 0 to 1 pass unchanged", async () => {
    assert.deepEqual(await sent({ temperature: 1.7 }), { temperature: 1, top_p: undefined });
    assert.deepEqual(await sent({ temperature: 0 }), { temperature: 0, top_p: undefined });
    assert.deepEqual(await sent({ temperature: 0.7 }), { temperature: 0.7, top_p: undefined });
  });
});
