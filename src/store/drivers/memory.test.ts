import { testStoreConformance } from "../../../test/store-conformance/index.ts";
import { createSessionStore } from "../core.ts";
import { createMemoryDriver } from "./memory.ts";

testStoreConformance({
  name: "memory",
  open: async (clock) => createSessionStore(createMemoryDriver(), { clock }),
});
