/** Config sections nothing reads are refused when they hold settings, saying where the real ones are. */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { loadServerConfig } from "./load-config.ts";
import { parseSecurityConfig } from "./security-config.ts";

describe("unread config sections", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-unread-sections-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const load = async (name: string, text: string) => {
    const file = path.join(dir, name);
    await writeFile(file, text);
    return loadServerConfig({ flags: { config: file }, env: {}, cwd: dir });
  };

  for (const [section, where] of [
    ["encryption", /HOLDFAST_KEYS or HOLDFAST_KEY_FILE/],
    ["observability", /server\.log_level/],
  ] as const) {
    test(`a '${section}' section with settings is refused, naming the real setting`, async () => {
      await assert.rejects(load(`${section}.yaml`, `${section}:\n  keys: [k1]\n`), (error: Error) => {
        assert.equal((error as { code?: string }).code, "invalid_argument");
        assert.match(error.message, new RegExp(`Section '${section}' .* is not read by Holdfast`));
        assert.match(error.message, where);
        return true;
      });
    });
  }

  test("an empty reserved section is accepted", async () => {
    const config = await load("empty.yaml", "encryption:\nobservability: {}\n");
    assert.equal(config.file.encryption, null);
  });

  test("'security' is read now (identity providers): it is left to its own parser, which names the real settings", async () => {
    const config = await load("security.yaml", "security:\n  keys: [k1]\n");
    assert.throws(
      () => parseSecurityConfig(config.file.security, `config file '${config.configFile}'`),
      (error: Error) => {
        assert.match(
          error.message,
          /^security\.keys in config file '.*security\.yaml' is not a setting; the only one is oidc_providers/,
        );
        assert.match(error.message, /holdfast keys create/);
        return true;
      },
    );
  });
});
