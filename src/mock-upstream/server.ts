/**
 * The mock upstream: a deterministic OpenAI-compatible (`/v1/chat/completions`, `/v1/responses`,
 * `/v1/models`) and Anthropic-compatible (`/v1/messages`) server on plain node:http, with latency,
 * pacing and chaos (errors, hangs, cut streams) for tests and benchmarks.
 */
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { mockReply } from "../engine/providers/mock-reply.ts";
import { ANTHROPIC_FORMAT } from "./anthropic-wire.ts";
import { CHAT_FORMAT, RESPONSES_FORMAT } from "./openai-wire.ts";
import {
  isScenario,
  type MockUpstreamOptions,
  type ResolvedMockOptions,
  resolveMockOptions,
  seededRandom,
} from "./options.ts";
import type { WireFormat } from "./wire.ts";

export interface MockUpstreamStats {
  requests: number;
  /** Requests being handled now (hangs included). */
  active: number;
  completed: number;
  errors: number;
  hangs: number;
  cuts: number;
  /** Requests whose client closed the connection before the answer was complete. */
  aborted: number;
  /** TCP connections accepted (keep-alive reuse keeps this low). */
  connections: number;
}

export interface MockUpstream {
  /** `http://host:port` (no trailing slash, no `/v1`). */
  readonly url: string;
  readonly port: number;
  readonly options: ResolvedMockOptions;
  stats(): MockUpstreamStats;
  /** Emits `aborted` when a client drops a request mid-way, `request` for every request (with its path). */
  readonly events: EventEmitter<{ aborted: [string]; request: [string] }>;
  /** Stops listening and destroys open connections (hanging requests included). */
  close(): Promise<void>;
}

const FORMATS: Record<string, WireFormat> = {
  "/v1/chat/completions": CHAT_FORMAT,
  "/v1/responses": RESPONSES_FORMAT,
  "/v1/messages": ANTHROPIC_FORMAT,
};
const ERROR_STATUSES = [500, 503, 429];
const CUT_DELAY_MS = 20;

/** Starts the mock upstream; resolves once it listens. */
export async function createMockUpstream(input: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const options = resolveMockOptions(input);
  const random = seededRandom(options.seed);
  const script = [...options.script];
  const events = new EventEmitter<{ aborted: [string]; request: [string] }>();
  const stats: MockUpstreamStats = {
    requests: 0,
    active: 0,
    completed: 0,
    errors: 0,
    hangs: 0,
    cuts: 0,
    aborted: 0,
    connections: 0,
  };
  let counter = 0;

  const server = createServer((req, res) => {
    stats.requests++;
    stats.active++;
    const path = (req.url ?? "/").split("?")[0]!;
    events.emit("request", path);
    let cutByUs = false;
    res.on("close", () => {
      stats.active--;
      if (!res.writableFinished && !cutByUs) {
        stats.aborted++;
        events.emit("aborted", path);
      }
    });
    const cut = (): void => {
      cutByUs = true;
      stats.cuts++;
      // Let what was written reach the client first: a real upstream stalls, then drops.
      setTimeout(() => res.socket?.destroy(), CUT_DELAY_MS);
    };
    handle(req, res, path, cut).catch(() => res.socket?.destroy());
  });

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    cut: () => void,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === "GET" && path === "/v1/models") {
      const data = options.models.map((id) => ({
        id,
        object: "model",
        created: 1_700_000_000,
        owned_by: "holdfast-mock",
      }));
      return sendJson(res, 200, { object: "list", data });
    }
    const format = FORMATS[path];
    if (!format || req.method !== "POST") {
      return sendJson(res, 404, {
        error: {
          message: `No route ${req.method} ${path} on the mock upstream.`,
          type: "invalid_request_error",
          code: "not_found",
        },
      });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      if (body === null || typeof body !== "object") throw new Error("not an object");
    } catch {
      return sendJson(res, 400, format.error(400, "The body is not a JSON object."));
    }
    const header = req.headers["x-mock-scenario"];
    const scenario = typeof header === "string" && isScenario(header) ? header : (script.shift() ?? roll());
    if (options.latencyMs > 0) await delay(options.latencyMs);
    if (res.destroyed) return;
    if (scenario === "hang") {
      stats.hangs++;
      return; // never answered; close() or the client ends it
    }
    if (scenario.startsWith("error:")) {
      stats.errors++;
      const status =
        scenario === "error:random" ? ERROR_STATUSES[Math.floor(random() * 3)]! : Number(scenario.slice(6));
      const headers = {
        "retry-after": String(Math.ceil(options.retryAfterMs / 1000)),
        "retry-after-ms": String(options.retryAfterMs),
      };
      return sendJson(res, status, format.error(status, `Mock upstream error ${status} (chaos).`), headers);
    }
    if (scenario === "context") {
      const { status, body: errorBody } = format.contextError();
      return sendJson(res, status, errorBody);
    }
    const n = ++counter;
    const id =
      path === "/v1/responses"
        ? `resp_mock${n}`
        : path === "/v1/messages"
          ? `msg_mock_${n}`
          : `chatcmpl-mock-${n}`;
    const reply = mockReply(format.prompt(body));
    const wire = format.reply(body, reply, id);
    const cutAt = scenario.startsWith("cut:")
      ? Number(scenario.slice(4))
      : scenario === "cut"
        ? -1
        : undefined;
    if (body.stream !== true) {
      if (options.tokensPerS > 0) await delay(Math.round((reply.outputTokens * 1000) / options.tokensPerS));
      if (res.destroyed) return;
      if (cutAt === undefined) return sendJson(res, 200, wire.json);
      const text = JSON.stringify(wire.json);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      return cut();
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const frames = wire.frames;
    const stopAt = cutAt === -1 ? Math.floor(frames.length / 2) : (cutAt ?? frames.length);
    const paced = options.ttftMs > 0 || options.tokensPerS > 0;
    if (!paced && stopAt >= frames.length) {
      res.end(frames.join(""));
      stats.completed++;
      return;
    }
    const gap = options.tokensPerS > 0 ? 1000 / options.tokensPerS : 0;
    for (let i = 0; i < frames.length; i++) {
      if (i === stopAt) return cut();
      const wait = i === wire.contentStart ? options.ttftMs : i > wire.contentStart ? gap : 0;
      if (wait > 0) await delay(wait);
      if (res.destroyed) return;
      res.write(frames[i]);
    }
    if (stopAt >= frames.length) {
      res.end();
      stats.completed++;
    } else cut();
  }

  function roll(): string {
    const r = random();
    if (r < options.errorRate) return "error:random";
    if (r < options.errorRate + options.hangRate) return "hang";
    if (r < options.errorRate + options.hangRate + options.cutStreamRate) return "cut";
    return "ok";
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
    if (status < 400) stats.completed++;
  }

  server.on("connection", () => stats.connections++);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    options,
    stats: () => ({ ...stats }),
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
