/**
 * Log redaction: pino `redact` paths covering credentials (Authorization, cookies, API keys,
 * tokens, secrets) and conversation content (item content, inputs, messages, state). Use them
 * for every logger: `pino({ redact: { paths: REDACT_PATHS, censor: REDACTED } })`.
 */
export const REDACTED = "[redacted]";

const CREDENTIAL_FIELDS = [
  "authorization",
  "cookie",
  "apiKey",
  "api_key",
  "secret",
  "token",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "password",
  "privateJwk",
];
const CONTENT_FIELDS = ["content", "input", "instructions", "messages", "state", "output", "arguments"];

export const REDACT_PATHS: readonly string[] = Object.freeze([
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  "headers.authorization",
  "headers.cookie",
  'headers["x-api-key"]',
  ...CREDENTIAL_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
  ...CONTENT_FIELDS.flatMap((f) => [`body.${f}`, `*.body.${f}`, `item.${f}`, `*.item.${f}`, `items[*].${f}`]),
  "state",
  "*.state",
]);

/** pino options fragment: `pino({ ...redactOptions(), level })`. */
export function redactOptions(): { redact: { paths: string[]; censor: string } } {
  return { redact: { paths: [...REDACT_PATHS], censor: REDACTED } };
}
