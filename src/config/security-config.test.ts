/** The `security` section: external identity providers, every bad value refused naming the key and the file. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSecurityConfig } from "./security-config.ts";

const WHERE = "config file '/srv/holdfast.yaml'";
const PROVIDER = {
  issuer: "https://idp.example.com/",
  jwks_url: "https://idp.example.com/.well-known/jwks.json",
  audience: "holdfast-api",
  tenant: "acme",
};

/** Asserts `section` is refused as invalid_argument with a message matching `message` and naming the file. */
function refused(section: unknown, message: RegExp): void {
  assert.throws(
    () => parseSecurityConfig(section, WHERE),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "invalid_argument");
      assert.match(error.message, message);
      assert.match(error.message, / in config file '\/srv\/holdfast\.yaml' /);
      return true;
    },
  );
}

describe("security config", () => {
  it("no section, an empty one or no providers: none", () => {
    for (const section of [undefined, null, {}, { oidc_providers: null }, { oidc_providers: [] }]) {
      assert.deepEqual(parseSecurityConfig(section, WHERE), { oidcProviders: [] });
    }
  });

  it("reads providers in the library's terms, scopes and algorithms when given", () => {
    const parsed = parseSecurityConfig(
      {
        oidc_providers: [
          PROVIDER,
          {
            issuer: "https://login.other.example",
            jwks_url: "http://127.0.0.1:8080/jwks.json",
            audience: "api://holdfast",
            tenant: "other",
            scopes: ["responses"],
            algorithms: ["ES256", "EdDSA"],
          },
        ],
      },
      WHERE,
    );
    assert.deepEqual(parsed.oidcProviders, [
      {
        issuer: "https://idp.example.com/",
        jwksUrl: "https://idp.example.com/.well-known/jwks.json",
        audience: "holdfast-api",
        tenant: "acme",
      },
      {
        issuer: "https://login.other.example",
        jwksUrl: "http://127.0.0.1:8080/jwks.json",
        audience: "api://holdfast",
        tenant: "other",
        scopes: ["responses"],
        algorithms: ["ES256", "EdDSA"],
      },
    ]);
  });

  it("refuses a JWKS URL over plain http off loopback, or no URL at all", () => {
    refused(
      { oidc_providers: [{ ...PROVIDER, jwks_url: "http://idp.example.com/jwks.json" }] },
      /^security\.oidc_providers\[0\]\.jwks_url .* must be an https URL \(http only on a loopback host/,
    );
    refused(
      { oidc_providers: [{ ...PROVIDER, jwks_url: "idp.example.com/jwks.json" }] },
      /^security\.oidc_providers\[0\]\.jwks_url .* must be an absolute https URL/,
    );
  });

  it("refuses missing or empty required keys, naming each", () => {
    for (const key of ["issuer", "jwks_url", "audience", "tenant"] as const) {
      refused(
        { oidc_providers: [{ ...PROVIDER, [key]: "" }] },
        new RegExp(`^security\\.oidc_providers\\[0\\]\\.${key} .* is required`),
      );
      const { [key]: _left, ...without } = PROVIDER;
      refused(
        { oidc_providers: [without] },
        new RegExp(`^security\\.oidc_providers\\[0\\]\\.${key} .* is required`),
      );
    }
    for (const audience of [[], ["a", ""], ["a", 1], { aud: "a" }]) {
      refused(
        { oidc_providers: [{ ...PROVIDER, audience }] },
        /^security\.oidc_providers\[0\]\.audience .* is required: one non-empty string, or a non-empty list of them .*\(got /,
      );
    }
  });

  it("reads an audience list as it is written (a token with any of them is accepted)", () => {
    const [provider] = parseSecurityConfig(
      { oidc_providers: [{ ...PROVIDER, audience: ["holdfast-api", "api://holdfast"] }] },
      WHERE,
    ).oidcProviders;
    assert.deepEqual(provider?.audience, ["holdfast-api", "api://holdfast"]);
  });

  it("refuses two entries for one issuer, and Holdfast's own issuer", () => {
    refused(
      { oidc_providers: [PROVIDER, { ...PROVIDER, tenant: "other" }] },
      /^security\.oidc_providers\[1\]\.issuer .* 'https:\/\/idp\.example\.com\/' is already security\.oidc_providers\[0\]'s/,
    );
    refused(
      { oidc_providers: [{ ...PROVIDER, issuer: "holdfast" }] },
      /^security\.oidc_providers\[0\]\.issuer .* the issuer of Holdfast's own access tokens/,
    );
  });

  it("refuses unknown keys, in the section and in a provider", () => {
    refused({ api_keys: ["hf_x"] }, /^security\.api_keys .* is not a setting; .*holdfast keys create/);
    refused(
      { oidc_providers: [{ ...PROVIDER, jwksUrl: PROVIDER.jwks_url }] },
      /^security\.oidc_providers\[0\]\.jwksUrl .* is not a setting; use one of issuer, jwks_url/,
    );
  });

  it("refuses control and other non-printable characters, which would forge start-up lines", () => {
    // The issuer is printed on serve's "listening" line: a line break there forged a second one.
    const forged = "https://a\nholdfast listening on http://x";
    refused(
      { oidc_providers: [{ ...PROVIDER, issuer: forged }] },
      /^security\.oidc_providers\[0\]\.issuer in config file '\/srv\/holdfast\.yaml' must not contain control or other non-printable characters \(found U\+000A at character 10\)\.$/,
    );
    // C1 NEL, a bidi override, the line separator, a zero-width space, a tab, DEL, NUL.
    for (const bad of ["\u0085", "\u202e", "\u2028", "\u200b", "\t", "\u007f", "\u0000"]) {
      const code = bad.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0");
      const found = new RegExp(`found U\\+${code} at character 20\\)`);
      refused({ oidc_providers: [{ ...PROVIDER, issuer: `https://idp.example${bad}` }] }, found);
      refused({ oidc_providers: [{ ...PROVIDER, jwks_url: `https://idp.example${bad}.com/j` }] }, found);
    }
    refused({ oidc_providers: [{ ...PROVIDER, tenant: "acme\r" }] }, /\.tenant .* U\+000D/);
    refused({ oidc_providers: [{ ...PROVIDER, audience: ["ok", "a\nb"] }] }, /\.audience .* U\+000A/);
    // Printable non-ASCII is fine: an issuer is a URL, but nothing here needs ASCII alone.
    const parsed = parseSecurityConfig(
      { oidc_providers: [{ ...PROVIDER, issuer: "https://idp.example/réalm" }] },
      WHERE,
    );
    assert.equal(parsed.oidcProviders[0]?.issuer, "https://idp.example/réalm");
  });

  it("refuses bad tenants, scopes and algorithms", () => {
    refused({ oidc_providers: [{ ...PROVIDER, tenant: "_hf_system" }] }, /\.tenant .* reserved/);
    refused({ oidc_providers: [{ ...PROVIDER, tenant: "a b" }] }, /\.tenant .* is not a tenant name/);
    refused({ oidc_providers: [{ ...PROVIDER, scopes: ["responses", "admin"] }] }, /\.scopes .* 'admin'/);
    refused({ oidc_providers: [{ ...PROVIDER, scopes: [] }] }, /\.scopes .* at least one scope/);
    refused({ oidc_providers: [{ ...PROVIDER, scopes: ["chat"] }] }, /\.scopes .* Unknown scope 'chat'/);
    refused(
      { oidc_providers: [{ ...PROVIDER, scopes: "responses" }] },
      /\.scopes .* must be a list of strings/,
    );
    refused({ oidc_providers: [{ ...PROVIDER, algorithms: ["HS256"] }] }, /\.algorithms .* holds 'HS256'/);
    refused({ oidc_providers: [{ ...PROVIDER, algorithms: [] }] }, /\.algorithms .* is empty/);
  });

  it("reads clock_tolerance_s (0 included) and refuses one that is not 0…300 whole seconds", () => {
    for (const seconds of [0, 5, 300]) {
      const [provider] = parseSecurityConfig(
        { oidc_providers: [{ ...PROVIDER, clock_tolerance_s: seconds }] },
        WHERE,
      ).oidcProviders;
      assert.equal(provider?.clockToleranceSeconds, seconds);
    }
    // Left out or empty (YAML `clock_tolerance_s:`): the library's default applies.
    for (const provider of [PROVIDER, { ...PROVIDER, clock_tolerance_s: null }]) {
      const [parsed] = parseSecurityConfig({ oidc_providers: [provider] }, WHERE).oidcProviders;
      assert.equal(parsed && "clockToleranceSeconds" in parsed, false);
    }
    for (const seconds of [-1, 301, 2.5, "30", true]) {
      refused(
        { oidc_providers: [{ ...PROVIDER, clock_tolerance_s: seconds }] },
        /^security\.oidc_providers\[0\]\.clock_tolerance_s .* must be a whole number of seconds from 0 to 300 \(default 30\) \(got /,
      );
    }
  });

  it("reads jwks_timeout_ms and refuses one that is not 100…60000 whole milliseconds", () => {
    const [provider] = parseSecurityConfig(
      { oidc_providers: [{ ...PROVIDER, jwks_timeout_ms: 2000 }] },
      WHERE,
    ).oidcProviders;
    assert.equal(provider?.jwksTimeoutMs, 2000);
    for (const empty of [PROVIDER, { ...PROVIDER, jwks_timeout_ms: null }]) {
      const [parsed] = parseSecurityConfig({ oidc_providers: [empty] }, WHERE).oidcProviders;
      assert.equal(parsed && "jwksTimeoutMs" in parsed, false);
    }
    for (const ms of [0, 50, 120_000, 1000.5, "5s"]) {
      refused(
        { oidc_providers: [{ ...PROVIDER, jwks_timeout_ms: ms }] },
        /^security\.oidc_providers\[0\]\.jwks_timeout_ms .* must be a whole number of milliseconds from 100 to 60000 \(default 5000\) \(got /,
      );
    }
  });

  it("refuses a section or a list of the wrong shape", () => {
    refused("oidc", /^security .* must be an object/);
    refused({ oidc_providers: PROVIDER }, /^security\.oidc_providers .* must be a list of providers/);
    refused(
      { oidc_providers: ["https://idp.example.com/"] },
      /^security\.oidc_providers\[0\] .* must be an object/,
    );
  });
});
