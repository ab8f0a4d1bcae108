/**
 * A tiny deterministic Agents SDK `Model` for tests and the offline example: it calls the
 * `get_weather` tool when the newest user message mentions weather, answers from the tool
 * output once it is there, and otherwise reports how many user messages it has seen, which
 * proves that the session history reached the model.
 */
import { type Model, type ModelRequest, type ModelResponse, Usage } from "@openai/agents";

type Loose = Record<string, unknown>;

/** Creates the fake model; `calls` records every request's input for assertions. */
export function createFakeModel(): Model & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  let n = 0;
  return {
    calls,
    async getResponse(request: ModelRequest): Promise<ModelResponse> {
      const input = (
        typeof request.input === "string" ? [userMessage(request.input)] : request.input
      ) as Loose[];
      calls.push(structuredClone(input));
      n++;
      const last = input.at(-1);
      const users = input.filter((item) => item.role === "user");
      let output: Loose[];
      if (last?.type === "function_call_result" || last?.type === "function_call_output") {
        output = [assistant(`fake-${n}`, `Weather report: ${String(outputText(last.output))}`)];
      } else if (/weather/i.test(textOf(users.at(-1)))) {
        output = [
          {
            type: "function_call",
            id: `fc-fake-${n}`,
            callId: `call_${n}`,
            name: "get_weather",
            arguments: JSON.stringify({ city: "Oslo" }),
            status: "completed",
          },
        ];
      } else {
        output = [assistant(`fake-${n}`, `I have seen ${users.length} user message(s).`)];
      }
      return {
        usage: new Usage({ requests: 1, inputTokens: 10, outputTokens: 5, totalTokens: 15 }),
        output: output as ModelResponse["output"],
        responseId: `resp_fake_${n}`,
      };
    },
    // biome-ignore lint/correctness/useYield: the fake model does not stream.
    async *getStreamedResponse() {
      throw new Error("The fake model does not stream.");
    },
  };
}

function userMessage(text: string): Loose {
  return { role: "user", content: text };
}

function assistant(id: string, text: string): Loose {
  return {
    type: "message",
    id,
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text }],
  };
}

function textOf(item: Loose | undefined): string {
  const content = item?.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => String((part as Loose).text ?? "")).join("");
  return "";
}

function outputText(output: unknown): unknown {
  if (typeof output === "string") return output;
  if (output && typeof output === "object" && "text" in output) return (output as Loose).text;
  return JSON.stringify(output);
}
