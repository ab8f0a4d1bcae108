import { after } from "node:test";
import { testStoreConformance } from "../../../test/store-conformance/index.ts";
import { createSessionStore } from "../core.ts";
import { createPostgresDriver } from "./postgres.ts";
import { dropSchema, schemaUrl, uniqueSchema } from "./postgres-test-support.ts";

const schema = uniqueSchema();
after(() => dropSchema(schema));

testStoreConformance({
  name: "postgres",
  open: async (clock) =>
    createSessionStore(await createPostgresDriver({ connectionString: schemaUrl(schema) }), { clock }),
});
