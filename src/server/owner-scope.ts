/**
 * End-user tokens reach only their owner's conversations (and only one, when the token is
 * scoped to it). API keys and development mode reach the whole tenant; the tenant itself is
 * enforced by the store. Runs after body parsing so it can see the conversation a turn names.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { sessionOfResponse } from "../engine/turn/response-ids.ts";
import { PermissionDeniedError } from "../security/errors.ts";
import { requireSessionAccess } from "../security/scopes.ts";
import type { SessionStore } from "../store/types.ts";
import { isPlainObject } from "../store/validate.ts";
import { CONVERSATION_HEADER } from "./routes/chat-completions.ts";

function restricted(request: FastifyRequest): boolean {
  const p = request.principal;
  // A public route that authenticates its caller itself (`/v1/auth/logout`, which sets the
  // principal for the rate limits) names no conversation and decides what the token may do.
  if (p === null || request.routeOptions.config.public === true) return false;
  return p.owner !== null || p.conversationId !== null;
}

/**
 * Every conversation a request names: the path's, the body's `conversation` and
 * `previous_response_id`, the `Holdfast-Conversation` header. All are checked, not the first
 * found: a route reads only the one it knows (chat completions reads the header), so checking
 * the body's and skipping the header let a chat turn run on another user's conversation.
 */
function conversationsOf(request: FastifyRequest): string[] {
  const ids = new Set<string>();
  const params = request.params as { id?: string } | undefined;
  const path = request.routeOptions.url ?? "";
  if (path.startsWith("/v1/conversations/:id") && params?.id) ids.add(params.id);
  if (path.startsWith("/v1/responses/:id") && params?.id)
    ids.add(sessionOfResponse(params.id, "response_id"));
  const body = isPlainObject(request.body) ? request.body : {};
  const conversation = body.conversation;
  if (typeof conversation === "string") ids.add(conversation);
  if (isPlainObject(conversation) && typeof conversation.id === "string") ids.add(conversation.id);
  if (typeof body.previous_response_id === "string") ids.add(sessionOfResponse(body.previous_response_id));
  const header = request.headers[CONVERSATION_HEADER];
  for (const value of Array.isArray(header) ? header : [header])
    if (typeof value === "string") ids.add(value);
  return [...ids];
}

export function registerOwnerScope(app: FastifyInstance, store: SessionStore): void {
  // API keys and development mode are never restricted: they pass without the promise an async
  // hook costs on every request.
  app.addHook("preHandler", (request, _reply, done) => {
    if (!restricted(request)) return done();
    checkOwner(request, store).then(() => done(), done);
  });
}

async function checkOwner(request: FastifyRequest, store: SessionStore): Promise<void> {
  const principal = request.principal!;
  const path = request.routeOptions.url ?? "";
  // HEAD runs the GET handler (its Content-Length tells the size of what it would list).
  const read = request.method === "GET" || request.method === "HEAD";
  if (path === "/v1/conversations") {
    // Listing would show the owner's other conversations; creating makes one it cannot reach.
    if (principal.conversationId !== null)
      throw new PermissionDeniedError("This token is limited to one conversation.");
    if (read) (request.query as Record<string, string>).owner = principal.owner ?? "";
    else if (isPlainObject(request.body)) request.body.owner = principal.owner;
    return;
  }
  if (principal.conversationId !== null && path === "/v1/conversations/:id/fork") {
    // The fork would be a new conversation of the owner's that this very token cannot reach.
    throw new PermissionDeniedError(
      "A conversation-scoped token cannot fork its conversation; use a token of the user.",
    );
  }
  const conversations = conversationsOf(request);
  if (conversations.length === 0) {
    // A turn without a conversation would create one this user could not be tied to.
    if (path === "/v1/responses" || path === "/v1/chat/completions") {
      if (request.method === "POST" && principal.conversationId === null) return;
    }
    if (!read || (path !== "/v1/models" && path !== "/v1/models/:id")) {
      throw new PermissionDeniedError("End-user tokens may only reach their own conversations.");
    }
    return;
  }
  // Update and fork take an `owner`: a user may not hand a conversation (or a copy) to another.
  const body = request.body;
  if (
    path.startsWith("/v1/conversations/:id") &&
    isPlainObject(body) &&
    body.owner !== undefined &&
    body.owner !== principal.owner
  ) {
    throw new PermissionDeniedError("End-user tokens cannot give a conversation to another owner.", {
      param: "owner",
    });
  }
  for (const conversation of conversations) {
    requireSessionAccess(principal, await store.get(request.tenant, conversation));
  }
}
