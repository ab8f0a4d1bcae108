/** The Holdfast HTTP server: OpenAI-compatible conversations plus Holdfast extensions. */
export { createServer, DEFAULT_BODY_LIMIT, type ServerOptions } from "./create-server.ts";
export { type ErrorBody, STATUS_BY_CODE, toErrorResponse } from "./errors.ts";
export { DEFAULT_TENANT, type TenantResolver } from "./tenant.ts";
export { toWireConversation, toWireItem, type WireConversation, type WireItem } from "./wire.ts";
