import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { pino } from "pino";
import { REDACTED, redactOptions } from "./redact.ts";

describe("log redaction", () => {
  it("never writes keys, tokens or conversation content to the log", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino(redactOptions(), sink);
    const apiKey = "hf_SECRETapikeySECRETapikeySECRETapikey12345";
    const jwt = "eyJhbGciOiJFZERTQSJ9.SECRETJWTPAYLOAD.SECRETSIG";
    const refresh = "hfr_0123456789abcdef0123456789abcdef.SECRETREFRESH";
    const content = "SECRET-CONTENT my diagnosis is private";
    logger.info(
      {
        req: {
          method: "POST",
          url: "/v1/responses",
          headers: { authorization: `Bearer ${apiKey}`, cookie: `hf_session=${jwt}`, "x-api-key": apiKey },
          body: { model: "m", input: content, instructions: content, messages: [{ role: "user", content }] },
        },
        res: { statusCode: 200, headers: { "set-cookie": `hf_session=${jwt}` } },
        tokens: { accessToken: jwt, refreshToken: refresh },
        item: { type: "message", content: [{ type: "input_text", text: content }] },
        items: [{ type: "message", content }],
        session: { id: "conv_1", state: { secret: content } },
        apiKey,
      },
      "request done",
    );
    logger.error({ err: { message: "boom" }, headers: { authorization: `Bearer ${jwt}` } }, "failed");
    const out = lines.join("");
    assert.ok(out.includes("request done") && out.includes("/v1/responses"), "the log line itself is kept");
    assert.ok(out.includes(REDACTED));
    for (const secret of [
      "SECRETapikey",
      "SECRETJWTPAYLOAD",
      "SECRETREFRESH",
      "SECRET-CONTENT",
      "diagnosis",
    ]) {
      assert.ok(!out.includes(secret), `'${secret}' leaked into the log: ${out}`);
    }
  });
});
