/**
 * `holdfast sessions ls|show`: read-only inspection of a store, opened directly through the
 * library (no server needed). Output is a plain table, or the HTTP API's JSON with `--json`.
 */

import { type Command, Option } from "commander";
import { toWireConversation, toWireConversationList, toWireItem } from "../../server/wire.ts";
import {
  type Item,
  LIST_ORDERS,
  type ListOrder,
  SESSION_STATUSES,
  type Session,
  type SessionStatus,
  type SessionStore,
} from "../../store/types.ts";
import { intFlag } from "../flag-values.ts";
import { storeOptions, withContentStore } from "../store-flags.ts";

interface StoreFlags {
  store?: string;
  config?: string;
  tenant: string;
}

interface ListFlags extends StoreFlags {
  owner?: string;
  label?: string;
  status?: SessionStatus;
  limit: string;
  order: ListOrder;
  after?: string;
  json?: boolean;
}

interface ShowFlags extends StoreFlags {
  items: string;
  json?: boolean;
}

/** These commands only read: a store that does not exist is an error, never created. */
function readStore<T>(flags: StoreFlags, run: (store: SessionStore) => Promise<T>): Promise<T> {
  return withContentStore(flags, run, { mustExist: true });
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Left-aligned columns separated by two spaces, like `docker ps`. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function sessionRow(s: Session): string[] {
  return [
    s.id,
    s.owner ?? "-",
    String(s.itemCount),
    String(s.tokenCount),
    String(s.version),
    s.status,
    iso(s.updatedAt),
    s.labels.join(",") || "-",
  ];
}

/** A one-line preview of an item: its text parts, name or output, cut to fit a terminal. */
function preview(item: Item): string {
  const c = item.content;
  let text = "";
  if (Array.isArray(c.content)) {
    text = c.content
      .map((p) =>
        p && typeof p === "object" && !Array.isArray(p) && typeof p.text === "string" ? p.text : "",
      )
      .join(" ");
  } else if (typeof c.content === "string") text = c.content;
  else if (typeof c.name === "string")
    text = `${c.name}(${typeof c.arguments === "string" ? c.arguments : ""})`;
  else if (typeof c.output === "string") text = c.output;
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}

/** A value as a POSIX shell reads it back: bare when it is plain, else single-quoted. */
function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * The command that prints the next page: the cursor alone would list another store, tenant or
 * filter than this page's (a cursor is a position within one listing), so every flag given comes too.
 */
export function nextPageCommand(flags: ListFlags, cursor: string): string {
  const args: [string, string | undefined][] = [
    ["--store", flags.store],
    ["--config", flags.config],
    ["--tenant", flags.tenant === "default" ? undefined : flags.tenant],
    ["--owner", flags.owner],
    ["--label", flags.label],
    ["--status", flags.status],
    ["--order", flags.order === "desc" ? undefined : flags.order],
    ["--limit", flags.limit === "20" ? undefined : flags.limit],
    ["--after", cursor],
  ];
  const given = args.filter((arg): arg is [string, string] => arg[1] !== undefined);
  return ["holdfast sessions ls", ...given.map(([flag, value]) => `${flag} ${shellWord(value)}`)].join(" ");
}

async function listSessions(flags: ListFlags): Promise<void> {
  const limit = intFlag(flags.limit, "--limit", 1, 1000);
  const page = await readStore(flags, (store) =>
    store.list(flags.tenant, {
      owner: flags.owner,
      label: flags.label,
      status: flags.status,
      order: flags.order,
      limit,
      cursor: flags.after,
    }),
  );
  if (flags.json) {
    // The HTTP list's own builder: the two shapes cannot drift apart.
    process.stdout.write(`${JSON.stringify(toWireConversationList(page), null, 2)}\n`);
    return;
  }
  if (page.data.length === 0) {
    process.stdout.write("No sessions.\n");
    return;
  }
  const header = ["ID", "OWNER", "ITEMS", "TOKENS", "VERSION", "STATUS", "UPDATED", "LABELS"];
  process.stdout.write(`${formatTable(header, page.data.map(sessionRow))}\n`);
  if (page.nextCursor) process.stdout.write(`More: ${nextPageCommand(flags, page.nextCursor)}\n`);
}

async function showSession(id: string, flags: ShowFlags): Promise<void> {
  const count = intFlag(flags.items, "--items", 0, 10_000);
  const { session, items } = await readStore(flags, async (store) => {
    const session = await store.get(flags.tenant, id);
    const newest =
      count === 0 ? [] : await store.readItems(flags.tenant, id, { order: "desc", limit: count });
    return { session, items: newest.reverse() };
  });
  if (flags.json) {
    const body = { ...toWireConversation(session), state: session.state, items: items.map(toWireItem) };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  const fields: [string, string][] = [
    ["id", session.id],
    ["owner", session.owner ?? "-"],
    ["status", session.status + (session.pinned ? " (pinned)" : "")],
    ["version", String(session.version)],
    ["items", `${session.itemCount} (${session.tokenCount} tokens, ${session.bytes} bytes)`],
    ["labels", session.labels.join(", ") || "-"],
    ["metadata", JSON.stringify(session.metadata)],
    ["created", iso(session.createdAt)],
    ["updated", iso(session.updatedAt)],
    ["last active", iso(session.lastActiveAt)],
    ["expires", session.expiresAt === null ? "-" : iso(session.expiresAt)],
    ["idle ttl", session.idleTtlMs === null ? "-" : `${session.idleTtlMs} ms`],
    [
      "fork of",
      session.forkParent ? `${session.forkParent.sessionId} at seq ${session.forkParent.atSeq}` : "-",
    ],
  ];
  const out = fields.map(([k, v]) => `${`${k}:`.padEnd(13)}${v}`);
  if (items.length > 0) {
    out.push("", `Last ${items.length} of ${session.itemCount} items:`);
    out.push(
      formatTable(
        ["SEQ", "ID", "TYPE", "ROLE", "TEXT"],
        items.map((i) => [String(i.seq), i.id, i.type, i.role ?? "-", preview(i)]),
      ),
    );
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

/** The `sessions` group; several modules add subcommands to it, whichever registers first creates it. */
export function sessionsGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "sessions") ??
    program.command("sessions").description("Inspect, change, export and import the sessions in a store.")
  );
}

export function registerSessionsCommand(program: Command): void {
  const sessions = sessionsGroup(program);
  storeOptions(sessions.command("ls").description("List sessions, newest first."))
    .option("--owner <owner>", "only sessions of this owner")
    .option("--label <label>", "only sessions carrying this label")
    .addOption(new Option("--status <status>", "only active or archived sessions").choices(SESSION_STATUSES))
    .option("-n, --limit <n>", "sessions per page (1-1000)", "20")
    .addOption(
      new Option("--order <order>", "desc (newest first) or asc").choices(LIST_ORDERS).default("desc"),
    )
    .option("--after <cursor>", "continue after this cursor (printed at the end of a full page)")
    .option("--json", "print JSON like GET /v1/conversations")
    .addHelpText(
      "after",
      `
Examples:
  $ holdfast sessions ls
  $ holdfast sessions ls --owner alice --label support --limit 50
  $ holdfast sessions ls --json --store sqlite:./data/holdfast.db`,
    )
    .action(listSessions);
  storeOptions(sessions.command("show <id>").description("Show one session and its latest items."))
    .option("-i, --items <n>", "how many of the newest items to print (0 for none)", "10")
    .option("--json", "print JSON: the conversation, its state and the items")
    .addHelpText(
      "after",
      `
Examples:
  $ holdfast sessions show conv_0123456789abcdef0123456789abcdef
  $ holdfast sessions show conv_0123… --items 50 --json`,
    )
    .action(showSession);
}
