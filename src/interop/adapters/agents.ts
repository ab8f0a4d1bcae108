/**
 * `holdfast/adapters/agents`: an OpenAI Agents SDK `Session` backed by a Holdfast store.
 * Opt-in subpath; the main `holdfast` entry never loads it.
 */

export {
  HoldfastAgentsSession,
  type HoldfastAgentsSessionOptions,
} from "./agents/holdfast-agents-session.ts";
export { EDIT_MARKER_TYPE } from "./edit-log.ts";

import type { SessionStore } from "../../store/types.ts";
import {
  HoldfastAgentsSession,
  type HoldfastAgentsSessionOptions,
} from "./agents/holdfast-agents-session.ts";

/** `createAgentsSession(store, tenant, options)`: shorthand for `new HoldfastAgentsSession(…)`. */
export function createAgentsSession(
  store: SessionStore,
  tenant: string,
  options: Omit<HoldfastAgentsSessionOptions, "store" | "tenant"> = {},
): HoldfastAgentsSession {
  return new HoldfastAgentsSession({ ...options, store, tenant });
}
