import { after } from "node:test";
import { testLifecycleCapability } from "../../../test/store-conformance/lifecycle-capability.ts";
import { createSessionStore } from "../core.ts";
import { createPostgresDriver } from "./postgres.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "./postgres-test-support.ts";

const schema = uniqueSchema();
after(() => dropSchema(schema));

testLifecycleCapability({
  name: "postgres",
  open: async (clock) =>
    createSessionStore(await createPostgresDriver({ connectionString: schemaUrl(schema) }), { clock }),
});
