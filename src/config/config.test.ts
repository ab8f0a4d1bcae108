import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseProvidersConfig, providersSectionOf } from "../engine/providers/config.ts";
import { CONFIG_DEFAULTS, loadServerConfig } from "./load-config.ts";
import { parseBytes, redactStoreUrl } from "./values.ts";

describe("loadServerConfig", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-config-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("defaults when nothing is set", async () => {
    const config = await loadServerConfig({ cwd: dir, env: {} });
    assert.equal(config.port, 7430);
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.store, "sqlite:./data/holdfast.db");
    assert.equal(config.bodyLimit, CONFIG_DEFAULTS.bodyLimit);
    assert.equal(config.configFile, null);
    assert.ok(Object.isFrozen(config));
  });

  test("flags beat environment, environment beats the file, the file beats defaults", async () => {
    const file = path.join(dir, "c.yaml");
    await writeFile(file, 'server:\n  port: 1111\n  host: 0.0.0.0\n  body_limit: 2mb\nstore: "memory:"\n');
    const fromFile = await loadServerConfig({ cwd: dir, env: { HOLDFAST_CONFIG: "c.yaml" } });
    assert.deepEqual(
      [fromFile.port, fromFile.host, fromFile.store, fromFile.bodyLimit],
      [1111, "0.0.0.0", "memory:", 2_000_000],
    );
    const fromEnv = await loadServerConfig({
      cwd: dir,
      env: { HOLDFAST_CONFIG: "c.yaml", HOLDFAST_PORT: "2222" },
    });
    assert.equal(fromEnv.port, 2222);
    assert.equal(fromEnv.host, "0.0.0.0");
    const fromFlag = await loadServerConfig({
      cwd: dir,
      env: { HOLDFAST_CONFIG: "c.yaml", HOLDFAST_PORT: "2222" },
      flags: { port: "3333", store: "sqlite:/tmp/x.db" },
    });
    assert.equal(fromFlag.port, 3333);
    assert.equal(fromFlag.store, "sqlite:/tmp/x.db");
  });

  test("finds holdfast.config.json in the working directory; store may be { url }", async () => {
    const sub = await mkdtemp(path.join(dir, "auto-"));
    await writeFile(
      path.join(sub, "holdfast.config.json"),
      JSON.stringify({ store: { url: "memory:" }, providers: [] }),
    );
    const config = await loadServerConfig({ cwd: sub, env: {} });
    assert.equal(config.store, "memory:");
    assert.equal(config.configFile, path.join(sub, "holdfast.config.json"));
    assert.deepEqual(config.file.providers, []);
  });

  test("the providers example of docs/providers.md is a config file serve accepts", async () => {
    const docs = await readFile(
      path.join(path.dirname(fileURLToPath(import.meta.url)), "../../docs/providers.md"),
      "utf8",
    );
    const section = docs.slice(docs.indexOf("## Configuration (`config.ts`)"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(yaml?.includes("defaultProvider"), "the example sets retry, breaker and defaultProvider");
    const file = path.join(dir, "providers.yaml");
    await writeFile(file, yaml ?? "");
    const config = await loadServerConfig({ cwd: dir, env: {}, flags: { config: file } });
    const env = { OPENAI_API_KEY: "k", GROQ_API_KEY: "k", ANTHROPIC_API_KEY: "k" };
    const parsed = parseProvidersConfig(providersSectionOf(config.file), env);
    assert.equal(parsed.defaultProvider, "openai");
    assert.equal(parsed.providers.find((p) => p.name === "claude")?.breaker.failureThreshold, 5);
    assert.equal(parsed.providers.find((p) => p.name === "groq")?.retry.maxRetries, 1);
  });

  test("trust_proxy: off by default; true, a hop count or addresses from flag, env or file", async () => {
    assert.equal((await loadServerConfig({ cwd: dir, env: {} })).trustProxy, false);
    const file = path.join(dir, "proxy.yaml");
    await writeFile(file, "server:\n  trust_proxy: [10.0.0.0/8, '::1']\n");
    const env = { HOLDFAST_CONFIG: "proxy.yaml" };
    assert.equal((await loadServerConfig({ cwd: dir, env })).trustProxy, "10.0.0.0/8,::1");
    const load = (value: string | boolean, from: "flag" | "env") =>
      loadServerConfig({
        cwd: dir,
        env: from === "env" ? { ...env, HOLDFAST_TRUST_PROXY: String(value) } : env,
        flags: from === "flag" ? { trustProxy: value } : {},
      }).then((c) => c.trustProxy);
    assert.equal(await load(true, "flag"), true, "--trust-proxy alone");
    assert.equal(await load("2", "flag"), 2);
    assert.equal(await load("false", "env"), false);
    assert.equal(await load("true", "env"), true);
    assert.equal(await load(" loopback , 192.168.0.1 ", "env"), "loopback,192.168.0.1");
    for (const bad of ["0", "proxy.example", "10.0.0.0/33", "1.2.3.4,", ""]) {
      await assert.rejects(load(bad, "flag"), /--trust-proxy must be true, false, a hop count/, bad);
    }
  });

  test("invalid values are rejected with a message naming the setting and its source", async () => {
    await assert.rejects(
      loadServerConfig({ cwd: dir, env: {}, flags: { port: "99999" } }),
      /--port must be a port/,
    );
    await assert.rejects(
      loadServerConfig({ cwd: dir, env: { HOLDFAST_PORT: "abc" } }),
      /HOLDFAST_PORT must be/,
    );
    await assert.rejects(
      loadServerConfig({ cwd: dir, env: { HOLDFAST_STORE: "nope" } }),
      /HOLDFAST_STORE must be a store URL/,
    );
    await assert.rejects(
      loadServerConfig({ cwd: dir, env: {}, flags: { bodyLimit: "12" } }),
      /--body-limit must be a size/,
    );
    const bad = path.join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ server: { port: "x" } }));
    await assert.rejects(
      loadServerConfig({ cwd: dir, env: {}, flags: { config: bad } }),
      /server\.port in config file/,
    );
    await writeFile(bad, JSON.stringify({ server: { prot: 1 } }));
    await assert.rejects(
      loadServerConfig({ cwd: dir, env: {}, flags: { config: bad } }),
      /Unknown option 'server\.prot'/,
    );
    await writeFile(bad, JSON.stringify({ sever: {} }));
    await assert.rejects(
      loadServerConfig({ cwd: dir, env: {}, flags: { config: bad } }),
      /Unknown section 'sever'/,
    );
    await writeFile(bad, "{ not json");
    await assert.rejects(loadServerConfig({ cwd: dir, env: {}, flags: { config: bad } }), /not valid JSON/);
    await assert.rejects(
      loadServerConfig({ cwd: dir, env: {}, flags: { config: "missing.yaml" } }),
      /--config: config file .* does not exist/,
    );
  });

  test("a store URL with a control or other non-printable character is refused, from any source", async () => {
    // serve prints the store URL on its "listening" line: a line break forged a second one.
    const forged = "memory:\nholdfast listening on http://x";
    const file = path.join(dir, "forged.json");
    await writeFile(file, JSON.stringify({ store: { url: forged } }));
    for (const [options, name] of [
      [{ flags: { store: forged } }, "--store"],
      [{ env: { HOLDFAST_STORE: forged } }, "HOLDFAST_STORE"],
      [{ flags: { config: file } }, "store in config file '.*forged\\.json'"],
      [{ flags: { store: "sqlite:./x\u202egpj.db" } }, "--store"],
    ] as const) {
      await assert.rejects(loadServerConfig({ cwd: dir, env: {}, ...options }), (error: Error) => {
        assert.equal((error as { code?: string }).code, "invalid_argument");
        assert.match(
          error.message,
          new RegExp(
            `^${name} must not contain control or other non-printable characters \\(found U\\+(000A|202E) at character \\d+\\)\\.$`,
          ),
        );
        return true;
      });
    }
  });

  test("a store section without its url, or with another key, is refused rather than using the default store", async () => {
    const file = path.join(dir, "store.yaml");
    for (const [text, message] of [
      ["store: {}\n", /'store' needs a 'url' in config file/],
      ['store: { uri: "memory:" }\n', /Unknown option 'store\.uri' in config file/],
    ] as const) {
      await writeFile(file, text);
      await assert.rejects(loadServerConfig({ cwd: dir, env: {}, flags: { config: file } }), message);
    }
  });

  test("a config file that is a directory: the message names no variable nobody set", async () => {
    const sub = await mkdtemp(path.join(dir, "dir-"));
    await mkdir(path.join(sub, "holdfast.config.yaml"));
    await assert.rejects(loadServerConfig({ cwd: sub, env: {} }), (error: Error) => {
      assert.match(error.message, /^Config file '.*holdfast\.config\.yaml' is a directory, not a file\.$/);
      return true;
    });
    await assert.rejects(
      loadServerConfig({ cwd: dir, env: { HOLDFAST_CONFIG: sub } }),
      /HOLDFAST_CONFIG: config file '.*' is a directory, not a file\.$/,
    );
  });

  test("sizes accept units; store URLs are redacted for logs", () => {
    assert.equal(parseBytes("512kb", "x", 1, 1e9), 512_000);
    assert.equal(parseBytes("1MiB", "x", 1, 1e9), 1 << 20);
    assert.equal(parseBytes(4096, "x", 1, 1e9), 4096);
    assert.equal(redactStoreUrl("postgres://app:s3cret@db:5432/hf"), "postgres://app:***@db:5432/hf");
    assert.equal(redactStoreUrl("redis://:pw@localhost:6379/0"), "redis://:***@localhost:6379/0");
    assert.equal(
      redactStoreUrl("postgres://db/hf?sslmode=require&password=x"),
      "postgres://db/hf?sslmode=require&password=***",
    );
    assert.equal(redactStoreUrl("sqlite:./data/holdfast.db"), "sqlite:./data/holdfast.db");
  });
});
