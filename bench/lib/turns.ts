/**
 * Realistic short turns: a user question and an assistant answer in OpenAI Responses item
 * shape, about 60 and 120 tokens (so an 8,000-token window holds roughly 90 items).
 */
import type { ItemInput } from "../../src/store/types.ts";

const QUESTIONS = [
  "Can you help me plan a three-day trip to Lisbon next month? We like seafood, old neighbourhoods and some live music in the evening, and we would rather avoid long queues.",
  "My Node service leaks memory slowly under load. Heap snapshots show growing arrays of closures from an event emitter. What should I look at first, and how do I confirm the cause?",
  "Summarise the trade-offs between optimistic and pessimistic locking for a booking system with a few hot rows and many readers. Keep it short, with one concrete recommendation.",
];

const ANSWERS = [
  "Happy to help. Day 1: start in Alfama early to beat the crowds, walk up to the Miradouro de Santa Luzia, then have grilled sardines at a small tasca near the cathedral. In the evening book a fado house in Mouraria rather than a big venue. Day 2: tram to Belém for the monastery and pastries, then seafood at a cervejaria. Day 3: LX Factory and the river walk. Shall I add times?",
  "Start with the listeners: an emitter that gains a listener per request and never removes it is the classic cause. Check emitter.listenerCount() over time, and look for closures capturing request objects. To confirm, take two heap snapshots a few minutes apart under steady load and compare retained sizes by constructor; the growing one points at the leak. Fix it with once() or by removing listeners on close.",
  "Optimistic locking lets readers and most writers proceed without waiting and detects conflicts at commit by comparing a version; it is cheap when conflicts are rare but causes retries on hot rows. Pessimistic locking serialises access up front, which avoids retries but blocks readers and risks deadlocks. For a booking system with a few hot rows: use optimistic versions everywhere and a short row lock only on the seat being booked.",
];

/** Turn `n`: two items, text varied by `n` so rows are not identical. */
export function turn(n: number): ItemInput[] {
  const i = n % QUESTIONS.length;
  return [
    {
      content: {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: `${QUESTIONS[i]} (#${n})` }],
      },
    },
    {
      content: {
        type: "message",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text: ANSWERS[i]!, annotations: [] }],
      },
    },
  ];
}
