/**
 * Issue 6 end to end: `holdfast serve`'s app started from a config file whose `security.oidc_providers`
 * names an identity provider the test runs on loopback. The official `openai` SDK sends that
 * provider's access tokens as its API key: `sub` becomes the owner, another user sees nothing of
 * it, and a token for another audience, from another issuer or expired is 401 in OpenAI's shape.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createHoldfastApp, type HoldfastApp } from "./app.ts";
import { loadServerConfig } from "./config/load-config.ts";
import { startTestIdentityProvider, type TestIdentityProvider } from "./security/oidc-test-support.ts";

const AUDIENCE = "holdfast-api";

/** The Holdfast extension field the SDK's types do not declare. */
const ownerOf = (conversation: object) => (conversation as { owner?: string | null }).owner;

describe("holdfast serve with an OIDC provider from the config file", () => {
  let dir: string;
  let idp: TestIdentityProvider;
  let holdfast: HoldfastApp;
  let baseURL: string;
  const client = (apiKey: string) => new OpenAI({ apiKey, baseURL, maxRetries: 0 });

  /** Writes `text` as a config file and loads it as serve does (flags, no environment). */
  const configFrom = async (name: string, text: string, flags: { host?: string } = {}) => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return loadServerConfig({ flags: { config: file, ...flags }, env: {}, cwd: dir });
  };
  /** A config file with the test's provider; `extra` lines are added to its entry. */
  const providerYaml = (...extra: string[]) =>
    [
      'store: "memory:"',
      "server: { port: 0, log_level: silent }",
      "security:",
      "  oidc_providers:",
      `    - issuer: "${idp.issuer}"`,
      `      jwks_url: "${idp.jwksUrl}"`,
      `      audience: ${AUDIENCE}`,
      "      tenant: acme",
      ...extra.map((line) => `      ${line}`),
      "",
    ].join("\n");

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-app-oidc-"));
    idp = await startTestIdentityProvider(AUDIENCE);
    holdfast = await createHoldfastApp({
      config: await configFrom("holdfast.yaml", providerYaml()),
      env: {},
    });
    await holdfast.app.listen({ host: "127.0.0.1", port: 0 });
    baseURL = `http://127.0.0.1:${(holdfast.app.server.address() as AddressInfo).port}/v1`;
  });
  after(async () => {
    await holdfast?.close();
    await idp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the provider's token is the API key: sub owns the conversation and the response", async () => {
    const alice = client(await idp.token("alice@idp"));
    const conversation = await alice.conversations.create({ metadata: { topic: "oidc" } });
    assert.equal(ownerOf(conversation), "alice@idp");
    const response = await alice.responses.create({
      model: "mock",
      input: "Hello from an OIDC user",
      conversation: conversation.id,
    });
    assert.equal(response.status, "completed");
    assert.equal(ownerOf(await alice.conversations.retrieve(conversation.id)), "alice@idp");
    assert.equal((await alice.responses.retrieve(response.id)).id, response.id);
    const items = await alice.conversations.items.list(conversation.id, { order: "asc" });
    assert.equal(items.data.length, 2, "the user's message and the model's answer");
    assert.ok(idp.fetches >= 1, "the keys came from the provider's JWKS URL");

    // Another user of the same provider (same tenant) sees none of it: 404, as if it did not exist.
    const bob = client(await idp.token("bob@idp"));
    await assert.rejects(bob.conversations.retrieve(conversation.id), OpenAI.NotFoundError);
    await assert.rejects(bob.responses.retrieve(response.id), OpenAI.NotFoundError);
    await assert.rejects(
      bob.responses.create({ model: "mock", input: "let me in", conversation: conversation.id }),
      OpenAI.NotFoundError,
    );
    assert.deepEqual((await bob.conversations.items.list(conversation.id).catch((e) => e)).status, 404);
  });

  test("a token for another audience, from another issuer or expired is 401 in OpenAI's error shape", async () => {
    const now = Math.floor(Date.now() / 1000);
    const tokens = {
      "wrong audience": await idp.token("alice@idp", { audience: "someone-else" }),
      "unconfigured issuer": await idp.token("alice@idp", { issuer: "https://other-idp.example.com/" }),
      expired: await idp.token("alice@idp", { issuedAt: now - 600, expiresIn: now - 300 }),
    };
    for (const [name, token] of Object.entries(tokens)) {
      await assert.rejects(client(token).conversations.create({}), (error: unknown) => {
        assert.ok(error instanceof OpenAI.AuthenticationError, `${name}: ${String(error)}`);
        assert.equal(error.status, 401, name);
        assert.equal(error.code, "invalid_token", name);
        // OpenAI's body: { error: { message, type, param, code } }, as the SDK parsed it.
        const body = error.error as { message?: unknown; type?: unknown; code?: unknown };
        assert.equal(typeof body.message, "string", name);
        assert.equal(typeof body.type, "string", name);
        assert.equal(body.code, "invalid_token", name);
        assert.ok("param" in body, name);
        return true;
      });
    }
  });

  test("a provider's clock a few seconds ahead is tolerated (30 s by default; clock_tolerance_s: 0 is strict)", async () => {
    const now = Math.floor(Date.now() / 1000);
    // Issued by a provider whose clock runs 10 s ahead: not valid for 10 s yet, as Holdfast sees it.
    const early = await idp.token("alice@idp", { issuedAt: now + 10, notBefore: now + 10 });
    // Expired 10 s ago for Holdfast (the provider thinks it just did).
    const late = await idp.token("alice@idp", { issuedAt: now - 300, expiresIn: now - 10 });
    for (const token of [early, late]) {
      const conversation = await client(token).conversations.create({});
      assert.equal(ownerOf(conversation), "alice@idp");
    }
    const strict = await createHoldfastApp({
      config: await configFrom("strict.yaml", providerYaml("clock_tolerance_s: 0")),
      env: {},
    });
    try {
      await strict.app.listen({ host: "127.0.0.1", port: 0 });
      const strictURL = `http://127.0.0.1:${(strict.app.server.address() as AddressInfo).port}/v1`;
      for (const token of [early, late]) {
        const strictClient = new OpenAI({ apiKey: token, baseURL: strictURL, maxRetries: 0 });
        await assert.rejects(strictClient.conversations.create({}), (error: unknown) => {
          assert.ok(error instanceof OpenAI.AuthenticationError, String(error));
          assert.equal(error.code, "invalid_token");
          return true;
        });
      }
    } finally {
      await strict.close();
    }
  });

  test("with a provider configured, a request without a credential is 401: no development mode", async () => {
    assert.equal(holdfast.mode, "secure");
    const res = await fetch(`${baseURL}/conversations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, "invalid_api_key");
    await assert.rejects(client("unused").conversations.create({}), OpenAI.AuthenticationError);
  });

  test("a provider's users are a way in: a non-loopback bind starts without any API key", async () => {
    const config = await configFrom("public.yaml", providerYaml(), { host: "0.0.0.0" });
    const app = await createHoldfastApp({ config, env: {} });
    try {
      assert.equal(app.mode, "secure");
    } finally {
      await app.close();
    }
  });
});
