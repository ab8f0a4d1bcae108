/**
 * What the model-based case sends: item specs small enough to shrink well, turned into the
 * Responses items a caller appends, and the arbitraries of every input field.
 */
import fc from "fast-check";
import type { ItemInput, JsonObject } from "../../../src/store/types.ts";
import type { VersionMode } from "./expect.ts";

/** Texts with multi-byte characters, a NUL and a long one, so byte sizes and token estimates differ. */
const TEXTS = ["hi", "😀 é", "", "a\u0000b", "x".repeat(150)] as const;

export interface ItemSpec {
  kind: "user" | "assistant" | "call" | "output" | "note";
  text: number;
  callId: "c1" | "c2";
  /** `auto`: the store generates the id; otherwise the caller's (the same few, so they collide). */
  id: "auto" | "msg_a" | "msg_b";
  tokens: number | null;
  turnId: string | null;
}

export function toInput(spec: ItemSpec): ItemInput {
  const text = TEXTS[spec.text % TEXTS.length]!;
  let content: JsonObject;
  switch (spec.kind) {
    case "user":
      content = { type: "message", role: "user", content: [{ type: "input_text", text }] };
      break;
    case "assistant":
      content = {
        type: "message",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text }],
      };
      break;
    case "call":
      content = { type: "function_call", call_id: spec.callId, name: "lookup", arguments: "{}" };
      break;
    case "output":
      content = { type: "function_call_output", call_id: spec.callId, output: text };
      break;
    default:
      content = { type: "note", n: spec.text };
  }
  return {
    ...(spec.id === "auto" ? {} : { id: spec.id }),
    content,
    ...(spec.tokens === null ? {} : { tokens: spec.tokens }),
    ...(spec.turnId === null ? {} : { turnId: spec.turnId }),
  };
}

/** Ids the caller chose twice in one batch: refused before anything is read. */
export function hasDuplicateIds(inputs: readonly ItemInput[]): boolean {
  const ids = inputs.flatMap((i) => (i.id === undefined ? [] : [i.id]));
  return new Set(ids).size !== ids.length;
}

/** Slot 0 most often, so that commands mostly meet a session some earlier command created. */
export const slotArb = fc.constantFrom(0, 0, 0, 1, 1, 2);

export const versionArb: fc.Arbitrary<VersionMode> = fc.constantFrom("none", "none", "current", "stale");

export const itemSpecArb: fc.Arbitrary<ItemSpec> = fc.record({
  kind: fc.constantFrom("user", "assistant", "call", "output", "note"),
  text: fc.nat({ max: TEXTS.length - 1 }),
  callId: fc.constantFrom("c1", "c2"),
  id: fc.constantFrom("auto", "auto", "auto", "auto", "auto", "auto", "msg_a", "msg_b"),
  tokens: fc.option(fc.nat({ max: 40 }), { nil: null }),
  turnId: fc.constantFrom(null, null, "turn_1"),
});

export const itemsArb = (min: number, max: number): fc.Arbitrary<ItemSpec[]> =>
  fc.array(itemSpecArb, { minLength: min, maxLength: max });

export const ownerArb = fc.constantFrom<string | null>(null, "alice", "bob");
export const metadataArb = fc.constantFrom<Record<string, string>>({}, { k: "v" }, { k: "w", é: "😀" });
export const labelsArb = fc.constantFrom<string[]>([], ["red"], ["red", "blue"]);
export const stateArb = fc.constantFrom<JsonObject>({}, { a: 1 }, { a: { b: "x" }, n: null });
export const idleTtlArb = fc.constantFrom<number | null>(null, 5_000, 600_000);

/** A JSON Merge Patch over a few keys: values, nested objects and deletions. */
export const statePatchArb: fc.Arbitrary<JsonObject> = fc.dictionary(
  fc.constantFrom("a", "b", "c"),
  fc.oneof(
    fc.constant(null),
    fc.integer({ min: -5, max: 5 }),
    fc.constantFrom("s", "é"),
    fc.record({ x: fc.option(fc.nat({ max: 3 }), { nil: null }) }),
  ),
  { maxKeys: 3 },
);
