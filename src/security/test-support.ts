/** Test helpers: stores over each available driver, each in its own temp directory. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStore } from "../store/create-store.ts";
import type { SessionStore } from "../store/types.ts";

export interface TestStore {
  name: string;
  open(): Promise<{ store: SessionStore; cleanup: () => Promise<void> }>;
}

export const TEST_STORES: TestStore[] = [
  {
    name: "memory",
    open: async () => {
      const store = await createStore("memory:");
      return { store, cleanup: () => store.close() };
    },
  },
  {
    name: "sqlite",
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), "holdfast-sec-"));
      const store = await createStore(`sqlite:${join(dir, "sec.db")}`);
      return {
        store,
        cleanup: async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];
