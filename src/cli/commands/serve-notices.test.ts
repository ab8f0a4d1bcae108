import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { identityProvidersNote, tieredStoreNotices } from "./serve-notices.ts";

describe("tieredStoreNotices", () => {
  it("warns when a per-instance memory: hot tier sits over a shared Postgres or Redis archive", () => {
    for (const archive of [
      "postgres://u:secret@db/h",
      "postgresql://db/h",
      "redis://127.0.0.1:6379",
      "rediss+cluster://r:6380",
    ]) {
      const [notice, ...rest] = tieredStoreNotices("memory:", archive);
      assert.deepEqual(rest, [], archive);
      assert.match(
        notice ?? "",
        /memory:.*several instances.*up to 15 minutes after another instance deleted/,
        archive,
      );
      assert.doesNotMatch(notice ?? "", /secret/);
    }
  });

  it("stays quiet for a shared hot tier, a private archive or no archive", () => {
    assert.deepEqual(tieredStoreNotices("redis://127.0.0.1:6379", "postgres://db/h"), []);
    assert.deepEqual(tieredStoreNotices("memory:", "sqlite:./data/h.db"), []);
    assert.deepEqual(tieredStoreNotices("memory:", undefined), []);
    assert.deepEqual(tieredStoreNotices("postgres://db/h", undefined), []);
  });
});

describe("identityProvidersNote", () => {
  it("names each provider as issuer → tenant, in the config file's order", () => {
    assert.equal(
      identityProvidersNote([
        { issuer: "https://login.example.com/", tenant: "acme" },
        { issuer: "https://idp.other.example", tenant: "other" },
      ]),
      "; identity providers: https://login.example.com/ → acme, https://idp.other.example → other",
    );
  });

  it("is empty without providers, leaving the line as it was", () => {
    assert.equal(identityProvidersNote([]), "");
  });
});
