/**
 * Test set-up: an identity provider of the test's own, on loopback. It publishes its public key as
 * a JWKS over http (allowed on loopback only) and signs access tokens as a real provider would
 * (RS256, `kid`, iss/aud/iat/exp/sub), with any claim overridable to make a bad token.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export interface TestIdentityProvider {
  issuer: string;
  jwksUrl: string;
  /** Fetches of the key set so far. */
  readonly fetches: number;
  /**
   * A token for `sub`; `issuer`/`audience` default to the provider's, `expiresIn` to 5 minutes;
   * `notBefore` (epoch seconds) adds an `nbf`.
   */
  token(
    sub: string,
    options?: {
      audience?: string;
      issuer?: string;
      expiresIn?: string | number;
      issuedAt?: number;
      notBefore?: number;
    },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function startTestIdentityProvider(audience: string): Promise<TestIdentityProvider> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-idp-1", alg: "RS256", use: "sig" };
  let fetches = 0;
  const server = createServer((request, response) => {
    if (request.url !== "/.well-known/jwks.json") {
      response.writeHead(404).end();
      return;
    }
    fetches++;
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/`;
  return {
    issuer,
    jwksUrl: `${base}/.well-known/jwks.json`,
    get fetches() {
      return fetches;
    },
    token: (sub, options = {}) =>
      new SignJWT({ sub, ...(options.notBefore === undefined ? {} : { nbf: options.notBefore }) })
        .setProtectedHeader({ alg: "RS256", kid: jwk.kid })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? audience)
        .setIssuedAt(options.issuedAt)
        .setExpirationTime(options.expiresIn ?? "5m")
        .sign(privateKey),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
