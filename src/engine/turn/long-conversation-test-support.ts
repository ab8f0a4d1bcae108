/**
 * A conversation of tenant `t` holding 10 user notes of ~45 tokens each: enough for a turn on a
 * small test model (a few hundred tokens of context) to compact it.
 */
import type { SessionStore } from "../../store/types.ts";

/** User note `n`, ~45 tokens. */
export function longNote(n: number) {
  return {
    content: {
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: `note ${n} ${"lorem ".repeat(40)}` }],
    },
  };
}

export async function longConversation(store: SessionStore): Promise<string> {
  const conv = await store.create("t");
  await store.append(
    "t",
    conv.id,
    Array.from({ length: 10 }, (_, i) => longNote(i)),
  );
  return conv.id;
}
