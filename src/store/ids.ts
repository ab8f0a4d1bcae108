import { createHash, randomBytes } from "node:crypto";

/** 128 random bits as hex: unguessable ids (an id is not a secret, but it must not be enumerable). */
function randomHex(bytes = 16): string {
  return randomBytes(bytes).toString("hex");
}

export const SESSION_ID_PATTERN = /^conv_[A-Za-z0-9_-]{8,96}$/;
export const ITEM_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export function newSessionId(): string {
  return `conv_${randomHex()}`;
}

/** Item ids follow OpenAI's prefixes so they read naturally on the wire. */
export function newItemId(type: string): string {
  const prefix =
    type === "message"
      ? "msg"
      : type === "function_call"
        ? "fc"
        : type === "function_call_output"
          ? "fco"
          : type === "reasoning"
            ? "rs"
            : "item";
  return `${prefix}_${randomHex()}`;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("base64url");
}
