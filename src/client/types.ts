/** Wire shapes the client reads and writes (OpenAI's, plus Holdfast's extension fields). */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A conversation as the server returns it. */
export interface Conversation {
  id: string;
  object: "conversation";
  created_at: number;
  updated_at?: number;
  metadata: Record<string, string> | null;
  owner?: string | null;
  labels?: string[];
  version: number;
  item_count?: number;
  token_count?: number;
  bytes?: number;
  [key: string]: unknown;
}

/** A transcript item (a message, a function call, …); items read back carry an `id`. */
export interface ConversationItem {
  id?: string;
  type?: string;
  role?: string;
  content?: JsonValue;
  [key: string]: JsonValue | undefined;
}

/** OpenAI's list envelope. */
export interface ListPage<T> {
  object: "list";
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
  next_cursor?: string | null;
}

export interface ConversationState {
  object: "conversation.state";
  conversation_id: string;
  version: number;
  state: JsonObject;
}

export interface ConversationWindow {
  object: "conversation.window";
  conversation_id: string;
  version: number;
  max_tokens: number;
  tokens: number;
  from_seq: number;
  truncated: boolean;
  data: ConversationItem[];
}

/** A Responses API response (only the fields the client relies on are typed). */
export interface ResponseObject {
  id: string;
  object: "response";
  status: string;
  output: ConversationItem[];
  output_text?: string;
  [key: string]: unknown;
}

/** One streamed Responses event (`response.output_text.delta`, `response.completed`, …). */
export interface ResponseStreamEvent {
  type: string;
  [key: string]: unknown;
}

/** A write with its outcome version (from the ETag). */
export interface Versioned<T> {
  data: T;
  version: number | null;
}

/** Options of every write that can be conditional. */
export interface WriteOptions {
  /** Sent as `If-Match: "<version>"`; a moved conversation answers 409 `conflict`. */
  ifMatch?: number;
  signal?: AbortSignal;
}
