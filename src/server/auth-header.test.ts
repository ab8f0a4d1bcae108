/**
 * A malformed Authorization header is told apart from a missing one: both are 401
 * `invalid_api_key` in OpenAI's error shape, but the message says which, and how the header
 * should look, without echoing the credential.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { createSecurity } from "../security/create-security.ts";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";
import { createServer } from "./create-server.ts";

describe("Authorization header errors", () => {
  let store: SessionStore;
  let app: FastifyInstance;
  let key: string;
  before(async () => {
    store = await createStore("memory:");
    const security = createSecurity({ store });
    key = (await security.apiKeys.create({ tenant: "acme", scopes: ["admin"] })).secret;
    app = await createServer({ store, security: { security, development: false } });
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  const error = async (authorization?: string) => {
    const res = await app.inject({
      url: "/v1/conversations",
      headers: authorization === undefined ? {} : { authorization },
    });
    assert.equal(res.statusCode, 401, res.body);
    const body = res.json().error;
    assert.equal(body.code, "invalid_api_key");
    assert.equal(body.type, "invalid_request_error");
    assert.equal(body.param, null);
    return body.message as string;
  };

  it("a missing header says no API key was sent", async () => {
    assert.match(await error(), /didn't provide an API key/);
  });

  it("another scheme or a credential followed by more text says the header is malformed and how it should look", async () => {
    for (const header of [
      "Basic abc",
      `Basic ${Buffer.from(`:${key}`).toString("base64")}`,
      "Token abc",
      "abc",
    ]) {
      const message = await error(header);
      assert.doesNotMatch(message, /didn't provide/, header);
      assert.match(message, /Authorization header .*Bearer scheme/, header);
      assert.match(message, /Authorization: Bearer /, header);
    }
    for (const header of [`Bearer ${key} extra`, `Bearer ${key},x y`, "Bearer", "Bearer   ", "Bearer é"]) {
      const message = await error(header);
      assert.doesNotMatch(message, /didn't provide/, header);
      assert.match(message, /Authorization header is malformed/, header);
      assert.match(message, /Authorization: Bearer /, header);
      assert.ok(!message.includes(key), "the credential is never echoed");
    }
    // The well-formed header still works, with any case of the scheme.
    const ok = await app.inject({ url: "/v1/conversations", headers: { authorization: `bearer ${key}` } });
    assert.equal(ok.statusCode, 200, ok.body);
  });
});
