import { testLifecycleCapability } from "../../../test/store-conformance/lifecycle-capability.ts";
import { createSessionStore } from "../core.ts";
import { createMemoryDriver } from "./memory.ts";

testLifecycleCapability({
  name: "memory",
  open: async (clock) => createSessionStore(createMemoryDriver(), { clock }),
});
