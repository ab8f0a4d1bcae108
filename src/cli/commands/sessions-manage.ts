/**
 * `holdfast sessions rm|rm-item|fork|compact`: changes to one session, through the library.
 */
import type { Command } from "commander";
import { getDefaultCatalog } from "../../engine/context/catalog.ts";
import { compact } from "../../engine/context/compact.ts";
import { toWireConversation } from "../../server/wire.ts";
import { type FlagNames, inFlagTerms, intFlag, withFlagNames } from "../flag-values.ts";
import { type StoreFlags, storeOptions, withContentStore } from "../store-flags.ts";
import { sessionsGroup } from "./sessions.ts";

interface Flags extends StoreFlags {
  tenant: string;
  json?: boolean;
}

function print(flags: Flags, json: unknown, text: string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
}

/** The library options behind `fork --at-seq` and `compact --keep-recent-tokens`, for its words. */
const FLAG_NAMES: FlagNames = { atSeq: "--at-seq", keepRecentTokens: "--keep-recent-tokens" };

export function registerSessionsManageCommands(program: Command): void {
  const sessions = sessionsGroup(program);

  storeOptions(
    sessions
      .command("rm <id...>")
      .description("Delete sessions (their items and idempotency records go with them)."),
  )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  $ holdfast sessions rm conv_0123… conv_4567…\n  $ holdfast sessions rm conv_0123… --tenant acme --json",
    )
    .action(async (ids: string[], flags: Flags) => {
      await withContentStore(
        flags,
        async (store) => {
          for (const id of ids) await store.delete(flags.tenant, id);
        },
        { mustExist: true },
      );
      print(flags, { deleted: ids }, `deleted ${ids.length} session(s)`);
    });

  storeOptions(
    sessions
      .command("rm-item <id> <item_id...>")
      .description(
        "Delete items of a session; a function call and its outputs go together, other items keep their seqs.",
      ),
  )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  $ holdfast sessions rm-item conv_0123… msg_4567…\n  $ holdfast sessions rm-item conv_0123… fc_89ab… --json",
    )
    .action(async (id: string, itemIds: string[], flags: Flags) => {
      const session = await withContentStore(
        flags,
        async (store) => {
          let after = await store.get(flags.tenant, id);
          for (const itemId of itemIds) after = await store.deleteItem(flags.tenant, id, itemId);
          return after;
        },
        { mustExist: true },
      );
      // --json prints what the HTTP API answers (DELETE …/items/{item_id}: the conversation after it).
      print(
        flags,
        toWireConversation(session),
        `deleted ${itemIds.length} item(s) of ${id}: ${session.itemCount} items (${session.tokenCount} tokens) left`,
      );
    });

  storeOptions(
    sessions.command("fork <id>").description("Start a new session that shares the history up to a seq."),
  )
    .option("--at-seq <seq>", "last item to share (default: all)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  $ holdfast sessions fork conv_0123…\n  $ holdfast sessions fork conv_0123… --at-seq 12 --json",
    )
    .action(async (id: string, flags: Flags & { atSeq?: string }) => {
      const atSeq = flags.atSeq === undefined ? undefined : intFlag(flags.atSeq, "--at-seq", 0);
      const child = await withFlagNames(FLAG_NAMES, () =>
        withContentStore(
          flags,
          (store) => store.fork(flags.tenant, id, atSeq === undefined ? {} : { atSeq }),
          {
            mustExist: true,
          },
        ),
      );
      // --json prints what POST /v1/conversations/{id}/fork answers: the new conversation.
      print(
        flags,
        toWireConversation(child),
        `${child.id} (fork of ${id} at seq ${child.forkParent?.atSeq}, ${child.itemCount} items)`,
      );
    });

  storeOptions(
    sessions
      .command("compact <id>")
      .description("Summarize the older part of a session into a summary item; the originals stay stored."),
  )
    .option("-m, --model <model>", "model whose window and tokenizer apply", "gpt-4o")
    .option("--keep-recent-tokens <n>", "newest tokens left verbatim", "8000")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nUses the built-in deterministic summarizer (offline); the gateway compacts with the conversation's own model.\n\nExamples:\n  $ holdfast sessions compact conv_0123…\n  $ holdfast sessions compact conv_0123… --model claude-sonnet-4-5 --keep-recent-tokens 20000",
    )
    .action(async (id: string, flags: Flags & { model: string; keepRecentTokens: string }) => {
      const keep = intFlag(flags.keepRecentTokens, "--keep-recent-tokens", 1);
      const model = getDefaultCatalog().get(flags.model);
      const result = await withFlagNames(FLAG_NAMES, () =>
        withContentStore(
          flags,
          (store) => compact(store, flags.tenant, id, { model, keepRecentTokens: keep }),
          {
            mustExist: true,
          },
        ),
      );
      const reason = result.reason === null ? null : inFlagTerms(result.reason, FLAG_NAMES);
      const text = result.compacted
        ? `compacted seq ${result.covers?.fromSeq}-${result.covers?.toSeq}: ${result.tokensBefore} → ${result.tokensAfter} tokens`
        : `nothing to compact: ${reason}`;
      print(flags, { ...result, reason }, text);
    });
}
