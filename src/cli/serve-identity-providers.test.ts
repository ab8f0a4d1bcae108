/**
 * `holdfast serve`'s "listening" line names the identity providers its config file configures
 * (issuer → tenant), through the real binary: an operator sees at a glance that they took effect.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startServe } from "./cli-helpers.ts";

describe("serve's start-up line and identity providers", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-serve-idp-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Starts serve on `config`, stops it, and returns its "listening" line. */
  const listeningLine = async (config: object) => {
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(config));
    const server = await startServe(["--port", "0", "--store", "memory:", "--config", file]);
    server.child.kill("SIGTERM");
    const result = await server.exited;
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.split("\n").find((line) => line.startsWith("holdfast listening on")) ?? "";
  };

  test("lists each configured provider as issuer → tenant", async () => {
    const line = await listeningLine({
      security: {
        oidc_providers: [
          {
            issuer: "https://login.example.com/",
            jwks_url: "https://login.example.com/.well-known/jwks.json",
            audience: "holdfast-api",
            tenant: "acme",
          },
          {
            issuer: "https://idp.other.example",
            jwks_url: "https://idp.other.example/keys",
            audience: ["api://holdfast", "holdfast"],
            tenant: "other",
          },
        ],
      },
    });
    assert.match(
      line,
      /; identity providers: https:\/\/login\.example\.com\/ → acme, https:\/\/idp\.other\.example → other\)$/,
    );
  });

  test("says nothing of identity providers when none is configured", async () => {
    const line = await listeningLine({});
    assert.match(line, /^holdfast listening on http:\/\/127\.0\.0\.1:\d+ \(store memory:; providers: /);
    assert.doesNotMatch(line, /identity providers/);
  });
});
