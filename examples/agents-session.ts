/**
 * OpenAI Agents SDK + Holdfast: a two-turn agent run with a function tool, history in SQLite.
 * Offline: the model is a tiny deterministic fake; swap in `model: "gpt-4.1"` for a real one.
 *
 *   node_modules/.bin/node --conditions=holdfast-source examples/agents-session.ts
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, run, setTracingDisabled, tool } from "@openai/agents";
import { createStore } from "holdfast";
import { createAgentsSession } from "holdfast/adapters/agents";
import { z } from "zod";
import { createFakeModel } from "../src/interop/adapters/agents/fake-model.ts";

setTracingDisabled(true);
const dir = await mkdtemp(join(tmpdir(), "holdfast-example-"));
const store = await createStore(`sqlite:${join(dir, "agents.db")}`);
try {
  const getWeather = tool({
    name: "get_weather",
    description: "Current weather for a city",
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => `sunny in ${city}`,
  });
  const agent = new Agent({ name: "assistant", model: createFakeModel(), tools: [getWeather] });
  const session = createAgentsSession(store, "demo-tenant");

  const first = await run(agent, "What is the weather?", { session });
  console.log(`turn 1: ${first.finalOutput}`);
  const second = await run(agent, "Thanks!", { session });
  console.log(`turn 2: ${second.finalOutput}`);

  const items = await session.getItems();
  console.log(`session ${await session.getSessionId()} holds ${items.length} items`);
  const popped = await session.popItem();
  console.log(
    `popped the ${popped?.type ?? "message"}; ${(await session.getItems()).length} items remain visible`,
  );
  console.log("agents-session: ok");
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
