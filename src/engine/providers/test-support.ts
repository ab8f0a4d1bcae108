/** Helpers shared by the provider tests (not a test file itself). */
import { parseProvidersConfig } from "./config.ts";
import { createProviderLayer, type ProviderLayer } from "./create-providers.ts";
import type { OutputItem, TurnEvent, TurnResult } from "./types.ts";

/** Builds a layer from a raw config section with an empty environment. */
export function layerOf(raw: unknown): ProviderLayer {
  return createProviderLayer(parseProvidersConfig(raw, {}), { env: {}, random: () => 0.5 });
}

/** Text of all assistant messages of an output. */
export function outputText(output: readonly OutputItem[]): string {
  let text = "";
  for (const item of output) {
    if (item.type !== "message" || !Array.isArray(item.content)) continue;
    for (const part of item.content as Array<{ text?: string }>) text += part.text ?? "";
  }
  return text;
}

export interface Collected {
  events: TurnEvent[];
  text: string;
  args: string;
  result: TurnResult | undefined;
  error: Extract<TurnEvent, { type: "error" }> | undefined;
}

/** Consumes a stream, reassembling text and arguments from the deltas. */
export async function collect(events: AsyncIterable<TurnEvent>): Promise<Collected> {
  const out: Collected = { events: [], text: "", args: "", result: undefined, error: undefined };
  for await (const event of events) {
    out.events.push(event);
    if (event.type === "text_delta") out.text += event.delta;
    if (event.type === "function_call_arguments_delta") out.args += event.delta;
    if (event.type === "done") out.result = event.result;
    if (event.type === "error") out.error = event;
  }
  return out;
}

export const WEATHER_TOOL = {
  type: "function" as const,
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
