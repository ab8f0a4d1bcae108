/**
 * Serves the demo next to a running Holdfast (`npm start`): the page and the client bundle from
 * here, `/v1/…` proxied to the server, so the page and the API share one origin (no CORS).
 *
 *   npm start                                         # terminal 1: Holdfast on :7430
 *   node_modules/.bin/node examples/chat-demo/serve.ts  # terminal 2: open http://127.0.0.1:5173/
 *
 * Env: HOLDFAST_URL (default http://127.0.0.1:7430), PORT (default 5173).
 */
import { createServer, request as httpRequest } from "node:http";
import { buildDemoAssets } from "./assets.ts";

const upstream = new URL(process.env.HOLDFAST_URL ?? "http://127.0.0.1:7430");
const port = Number(process.env.PORT ?? 5173);
const assets = await buildDemoAssets();

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://demo");
  if (url.pathname.startsWith("/v1/")) {
    const proxied = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    proxied.on("error", () => {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: {
            type: "api_error",
            code: "upstream_error",
            message: "Holdfast is not running.",
            param: null,
          },
        }),
      );
    });
    req.pipe(proxied);
    return;
  }
  const asset = assets.get(url.pathname.slice(1));
  if (!asset) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache" });
  res.end(asset.body);
});

server.listen(port, "127.0.0.1", () => {
  console.log(`chat demo: http://127.0.0.1:${port}/  (API: ${upstream.origin})`);
});
