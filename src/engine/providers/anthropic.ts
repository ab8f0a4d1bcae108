/** Adapter for Anthropic Messages: `POST {baseUrl}/v1/messages`, streaming included. */

import { AnthropicStreamTranslator, fromAnthropicMessage, toAnthropicBody } from "./anthropic-translate.ts";
import { errorFromResponse, ProviderError } from "./errors.ts";
import type { HttpClient } from "./http.ts";
import type { Provider, TurnEvent, TurnRequest } from "./types.ts";

export interface AnthropicProviderOptions {
  name: string;
  /** A client whose base URL is the API root (`https://api.anthropic.com`), with `x-api-key` and `anthropic-version` headers set. */
  http: HttpClient;
}

export const ANTHROPIC_VERSION = "2023-06-01";

/**
 * The HTTP status of each Anthropic error type, for an `error` event inside a 200 stream: an
 * invalid request there is the caller's fault (not retried, a 400) as it would be before the stream.
 */
const ERROR_STATUS: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Creates an Anthropic Messages adapter over a pooled HTTP client. */
export function createAnthropicProvider(options: AnthropicProviderOptions): Provider {
  const { name, http } = options;
  return {
    name,
    type: "anthropic",
    async complete(request) {
      const body = await http.postJson("/v1/messages", toAnthropicBody(request, false), request.signal);
      return fromAnthropicMessage(body, request.model);
    },
    stream(request) {
      return streamMessages(name, http, request);
    },
    close() {
      return http.close();
    },
  };
}

async function* streamMessages(
  name: string,
  http: HttpClient,
  request: TurnRequest,
): AsyncGenerator<TurnEvent> {
  const events = await http.postStream("/v1/messages", toAnthropicBody(request, true), request.signal);
  const translator = new AnthropicStreamTranslator(request.model);
  for await (const event of events) {
    let payload: Parameters<AnthropicStreamTranslator["push"]>[0];
    try {
      payload = JSON.parse(event.data);
    } catch {
      throw new ProviderError(`${name} sent a stream event that is not JSON: ${event.data.slice(0, 200)}`, {
        provider: name,
      });
    }
    if (payload.type === "error") {
      // Errors inside a 200 stream (e.g. overloaded_error) carry the status Anthropic would have used.
      const status = ERROR_STATUS[payload.error?.type ?? ""] ?? 500;
      throw errorFromResponse(name, status, http.redact(event.data), undefined);
    }
    const translated = translator.push(payload);
    if (translator.stopped) events.complete();
    // for-of, not yield*: yield* over an array in an async generator costs 2.5x per event.
    for (const event of translated) yield event;
    if (translator.stopped) return;
  }
  throw new ProviderError(`${name} closed the stream before message_stop.`, { provider: name });
}
