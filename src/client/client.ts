/**
 * `createHoldfastClient(options)`: a typed, fetch-based client for Holdfast's HTTP API —
 * conversations, items, responses (JSON or streamed), state, fork, window and end-user tokens.
 * Browser-safe: no Node imports.
 */
import { type ClientTokens, TokenManager } from "./auth.ts";
import { HoldfastApiError, HoldfastClientError, HoldfastNetworkError } from "./errors.ts";
import { type FetchLike, HttpTransport } from "./http.ts";
import { parseSse } from "./sse.ts";
import type {
  Conversation,
  ConversationItem,
  ConversationState,
  ConversationWindow,
  JsonObject,
  ListPage,
  ResponseObject,
  ResponseStreamEvent,
  Versioned,
  WriteOptions,
} from "./types.ts";

export interface HoldfastClientOptions {
  /** Server root, e.g. `http://127.0.0.1:8080` or `/` in a page served by the same origin. */
  baseUrl: string;
  /** An API key or an end-user access token (+ refresh token). Absent: development mode. */
  tokens?: ClientTokens | null;
  /** Called whenever the tokens rotate (persist them) or end (`null`). */
  onTokens?: (tokens: ClientTokens | null) => void | Promise<void>;
  /** Default: the global `fetch`. Tests inject a failing one to simulate the network. */
  fetch?: FetchLike;
}

export interface CreateConversationInput {
  items?: ConversationItem[];
  metadata?: Record<string, string>;
  state?: JsonObject;
  labels?: string[];
  [key: string]: unknown;
}

export interface ListItemsOptions {
  after?: string;
  limit?: number;
  order?: "asc" | "desc";
}

export interface AppendOptions extends WriteOptions {
  /** `Idempotency-Key`: a retry with the same key is applied once. */
  idempotencyKey?: string;
}

export interface HoldfastClient {
  readonly conversations: {
    create(input?: CreateConversationInput): Promise<Conversation>;
    get(id: string): Promise<Conversation>;
    update(id: string, patch: JsonObject, options?: WriteOptions): Promise<Conversation>;
    delete(id: string, options?: WriteOptions): Promise<{ id: string; deleted: boolean }>;
    list(query?: Record<string, string | number | undefined>): Promise<ListPage<Conversation>>;
  };
  readonly items: {
    list(conversationId: string, options?: ListItemsOptions): Promise<ListPage<ConversationItem>>;
    /** Every item in ascending order, following `after` cursors. */
    listAll(conversationId: string): Promise<ConversationItem[]>;
    create(
      conversationId: string,
      items: ConversationItem[],
      options?: AppendOptions,
    ): Promise<Versioned<ConversationItem[]> & { replayed: boolean }>;
  };
  readonly responses: {
    create(
      body: JsonObject,
      options?: { idempotencyKey?: string; signal?: AbortSignal },
    ): Promise<ResponseObject>;
    /**
     * Streams the turn's events; the last one is `response.completed` (or `.incomplete`, `.failed`,
     * or `error` when the turn failed after part of its answer was stored as incomplete).
     */
    stream(
      body: JsonObject,
      options?: { idempotencyKey?: string; signal?: AbortSignal },
    ): AsyncGenerator<ResponseStreamEvent>;
  };
  readonly state: {
    get(conversationId: string): Promise<ConversationState>;
    /** JSON Merge Patch (RFC 7396): `null` deletes a key. */
    patch(conversationId: string, patch: JsonObject, options?: WriteOptions): Promise<ConversationState>;
  };
  fork(conversationId: string, input?: JsonObject): Promise<Conversation>;
  window(conversationId: string, maxTokens: number): Promise<ConversationWindow>;
  readonly auth: {
    /** The token manager (current token, refresh count). */
    readonly tokens: TokenManager;
    setTokens(tokens: ClientTokens | null): Promise<void>;
    /** Revokes every token of the signed-in user on the server, then forgets them locally. */
    logout(): Promise<void>;
  };
}

const enc = encodeURIComponent;

/** The events a turn's stream ends with; a body that ends before one of them was cut. */
const TERMINAL_EVENTS = new Set(["response.completed", "response.failed", "response.incomplete", "error"]);

function conditional(
  options: WriteOptions | undefined,
  extra: Record<string, string> = {},
): Record<string, string> {
  return options?.ifMatch === undefined ? extra : { ...extra, "if-match": `"${options.ifMatch}"` };
}

/** Creates a client. Options are checked here and never mutated. */
export function createHoldfastClient(options: HoldfastClientOptions): HoldfastClient {
  if (typeof options?.baseUrl !== "string") {
    throw new HoldfastClientError(
      "invalid_argument",
      "options.baseUrl must be a URL string, e.g. 'http://127.0.0.1:8080'.",
    );
  }
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const tokens = new TokenManager({
    tokens: options.tokens ?? null,
    onTokens: options.onTokens,
    refresh: async (refreshToken) => {
      // Sent without the bearer: the refresh token is the credential, and a 401 here must not recurse.
      const url = `${options.baseUrl.replace(/\/+$/, "")}/v1/auth/token`;
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ grant_type: "refresh_token", refresh_token: refreshToken }),
        });
      } catch (error) {
        // Offline mid-refresh: a network error like any other (queue and retry), tokens kept.
        throw new HoldfastNetworkError(
          `Could not reach ${url} to refresh the access token: ${String(error)}`,
          {
            cause: error,
          },
        );
      }
      const body = (await response.json().catch(() => ({}))) as {
        access_token?: string;
        refresh_token?: string;
        error?: { code?: string; message?: string };
      };
      if (!response.ok || typeof body.access_token !== "string") {
        throw new HoldfastApiError(response.ok ? 502 : response.status, body.error ?? {});
      }
      return { accessToken: body.access_token, refreshToken: body.refresh_token ?? null };
    },
  });
  const http = new HttpTransport({ baseUrl: options.baseUrl, fetch: fetchImpl, tokens });

  async function* stream(
    body: JsonObject,
    opts: { idempotencyKey?: string; signal?: AbortSignal } = {},
  ): AsyncGenerator<ResponseStreamEvent> {
    const response = await http.raw("/v1/responses", {
      method: "POST",
      body: { ...body, stream: true },
      headers: {
        accept: "text/event-stream",
        ...(opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {}),
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (!response.body) throw new HoldfastClientError("invalid_response", "The stream has no body.");
    let ended = false;
    try {
      for await (const event of parseSse(response.body)) {
        if (event.data === "[DONE]") return;
        let parsed: ResponseStreamEvent;
        try {
          parsed = JSON.parse(event.data) as ResponseStreamEvent;
        } catch (error) {
          throw new HoldfastClientError(
            "invalid_response",
            `A stream event is not JSON: ${event.data.slice(0, 80)}`,
            {
              cause: error,
            },
          );
        }
        if (TERMINAL_EVENTS.has(parsed.type)) ended = true;
        yield parsed;
      }
    } catch (error) {
      // The body failed mid-read (connection reset, a proxy timing out): a network error, unless
      // the caller aborted.
      if (opts.signal?.aborted || error instanceof HoldfastClientError) throw error;
      throw new HoldfastNetworkError(`The stream was cut: ${String(error)}`, { cause: error });
    }
    if (!ended) {
      // A clean end of the body before the turn's last event is a cut connection, not a turn.
      throw new HoldfastNetworkError(
        "The stream ended before the turn's last event (response.completed, .failed, .incomplete or error): the connection was cut. The turn may still have been stored: re-read the conversation.",
      );
    }
  }

  return Object.freeze({
    conversations: Object.freeze({
      create: async (input: CreateConversationInput = {}) =>
        (await http.json<Conversation>("/v1/conversations", { method: "POST", body: input })).data,
      get: async (id: string) => (await http.json<Conversation>(`/v1/conversations/${enc(id)}`)).data,
      update: async (id: string, patch: JsonObject, opts?: WriteOptions) =>
        (
          await http.json<Conversation>(`/v1/conversations/${enc(id)}`, {
            method: "POST",
            body: patch,
            headers: conditional(opts),
          })
        ).data,
      delete: async (id: string, opts?: WriteOptions) =>
        (
          await http.json<{ id: string; deleted: boolean }>(`/v1/conversations/${enc(id)}`, {
            method: "DELETE",
            headers: conditional(opts),
          })
        ).data,
      list: async (query: Record<string, string | number | undefined> = {}) =>
        (await http.json<ListPage<Conversation>>("/v1/conversations", { query })).data,
    }),
    items: Object.freeze({
      list: async (id: string, opts: ListItemsOptions = {}) =>
        (
          await http.json<ListPage<ConversationItem>>(`/v1/conversations/${enc(id)}/items`, {
            query: { after: opts.after, limit: opts.limit, order: opts.order },
          })
        ).data,
      listAll: async (id: string) => {
        const out: ConversationItem[] = [];
        let after: string | undefined;
        for (;;) {
          const page = (
            await http.json<ListPage<ConversationItem>>(`/v1/conversations/${enc(id)}/items`, {
              query: { after, limit: 100, order: "asc" },
            })
          ).data;
          out.push(...page.data);
          if (!page.has_more || page.last_id === null) return out;
          after = page.last_id;
        }
      },
      create: async (id: string, items: ConversationItem[], opts: AppendOptions = {}) => {
        const result = await http.json<ListPage<ConversationItem>>(`/v1/conversations/${enc(id)}/items`, {
          method: "POST",
          body: { items },
          headers: conditional(opts, opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        return {
          data: result.data.data,
          version: result.version,
          replayed: result.headers.get("idempotent-replayed") === "true",
        };
      },
    }),
    responses: Object.freeze({
      create: async (body: JsonObject, opts: { idempotencyKey?: string; signal?: AbortSignal } = {}) =>
        (
          await http.json<ResponseObject>("/v1/responses", {
            method: "POST",
            body: { ...body, stream: false },
            headers: opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {},
            ...(opts.signal ? { signal: opts.signal } : {}),
          })
        ).data,
      stream,
    }),
    state: Object.freeze({
      get: async (id: string) =>
        (await http.json<ConversationState>(`/v1/conversations/${enc(id)}/state`)).data,
      patch: async (id: string, patch: JsonObject, opts?: WriteOptions) =>
        (
          await http.json<ConversationState>(`/v1/conversations/${enc(id)}/state`, {
            method: "PATCH",
            body: patch,
            headers: conditional(opts, { "content-type": "application/merge-patch+json" }),
          })
        ).data,
    }),
    fork: async (id: string, input: JsonObject = {}) =>
      (await http.json<Conversation>(`/v1/conversations/${enc(id)}/fork`, { method: "POST", body: input }))
        .data,
    window: async (id: string, maxTokens: number) =>
      (
        await http.json<ConversationWindow>(`/v1/conversations/${enc(id)}/window`, {
          query: { max_tokens: maxTokens },
        })
      ).data,
    auth: Object.freeze({
      tokens,
      setTokens: (next: ClientTokens | null) => tokens.set(next),
      logout: async () => {
        try {
          if (tokens.accessToken !== null) await http.json("/v1/auth/logout", { method: "POST", body: {} });
        } finally {
          await tokens.set(null);
        }
      },
    }),
  });
}
