/**
 * A fork racing writes to and the delete of its parent, under encryption, at the one interleaving
 * the decorator's key reads leave open. The fork reads the parent's keys, the inner store copies,
 * the fork reads the keys again. A parent that is itself a never-written fork has no key of its
 * own; an append between the first read and the copy makes one and seals an item under it, and a
 * delete between the copy and the second read destroys it: neither read saw it, so the child held
 * an item no key of it opens (`decryption_failed` on every read, for good).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createStore } from "../store/create-store.ts";
import type { ForkInput, Session, SessionStore } from "../store/types.ts";
import { createKeyring } from "./encryption/keyring.ts";
import { withEncryption } from "./encryption/with-encryption.ts";

const msg = (text: string) => ({
  content: { type: "message", role: "user", content: [{ type: "input_text", text }] },
});

/** An inner store whose fork runs `around.before` before its copy and `around.after` after it. */
function hookedFork(
  inner: SessionStore,
  around: { before?: () => Promise<void>; after?: () => Promise<void> },
): SessionStore {
  return new Proxy(inner, {
    get(target, name, receiver) {
      if (name !== "fork") {
        const value = Reflect.get(target, name, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (tenant: string, id: string, input?: ForkInput): Promise<Session> => {
        const hooks = { ...around };
        around.before = undefined;
        around.after = undefined;
        await hooks.before?.();
        const child = await target.fork(tenant, id, input);
        await hooks.after?.();
        return child;
      };
    },
  });
}

describe("encryption: a fork racing its parent's first write and delete", () => {
  it("leaves a child whose keys open every item it copied, or fails not_found and leaves none", async () => {
    const around: { before?: () => Promise<void>; after?: () => Promise<void> } = {};
    const store = withEncryption(hookedFork(await createStore("memory:"), around), {
      keyring: createKeyring([{ kid: "k1", key: randomBytes(32) }]),
    });
    const origin = await store.create("acme", { items: [msg("from the origin")] });
    const parent = await store.fork("acme", origin.id);
    around.before = async () => {
      await store.append("acme", parent.id, [msg("the parent's first own item")]);
    };
    around.after = async () => {
      await store.delete("acme", parent.id);
    };
    const childId = "conv_forkracekeys0001";
    const fork = await store.fork("acme", parent.id, { id: childId }).then(
      (child) => ({ child }),
      (error: { code?: string }) => ({ error }),
    );
    if ("error" in fork) {
      assert.equal(fork.error.code, "not_found", String(fork.error));
      await assert.rejects(store.get("acme", childId), { code: "not_found" });
      return;
    }
    const items = await store.readItems("acme", childId);
    assert.deepEqual(
      items.map(
        (item) => JSON.stringify(item.content).match(/from the origin|the parent's first own item/)?.[0],
      ),
      ["from the origin", "the parent's first own item"],
    );
  });
});
