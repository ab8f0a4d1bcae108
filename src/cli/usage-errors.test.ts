/**
 * Rejections through the real binary: every one exits with its documented code and prints one
 * `holdfast: <message> [<code>]` line, never commander's exit 1 or a bare Node error.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { archiveNotFound } from "../lifecycle/archive-format.ts";
import { runCli } from "./cli-helpers.ts";
import { runCommand } from "./run.ts";

const SUBCOMMANDS = [
  ["serve"],
  ["sessions"],
  ...["ls", "show", "export", "import", "rm", "rm-item", "fork", "compact"].map((c) => ["sessions", c]),
  ["migrate"],
  ["doctor"],
  ["bench"],
  ["mock-upstream"],
  ["cleanup"],
  ["keys"],
  ...["create", "list", "revoke", "rotate", "rotate-master"].map((c) => ["keys", c]),
  ["openclaw"],
  ...["audit", "import", "cleanup", "export"].map((c) => ["openclaw", c]),
];

describe("CLI usage errors and rejections", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "holdfast-usage-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("--help of every command and subcommand exits 0 with examples", async () => {
    const runs = await Promise.all(SUBCOMMANDS.map((args) => runCli([...args, "--help"])));
    for (const [i, res] of runs.entries()) {
      assert.equal(res.code, 0, `${SUBCOMMANDS[i]?.join(" ")}: ${res.stderr}`);
      assert.match(res.stdout, /^Usage: holdfast /);
      // The groups list their subcommands; every command that runs shows how.
      if (!["sessions", "openclaw"].includes(SUBCOMMANDS[i]?.join(" ") ?? "")) {
        assert.match(res.stdout, /\nExamples?:\n {2}\$ /, SUBCOMMANDS[i]?.join(" "));
      }
    }
  });

  test("--help marks the options a command requires, and only those", async () => {
    const required = async (args: string[]): Promise<string[]> => {
      const res = await runCli([...args, "--help"]);
      assert.equal(res.code, 0, res.stderr);
      return [...res.stdout.matchAll(/^ {2}(?:-\w, )?(--[\w-]+).*\(required\)$/gm)].map((m) => m[1] ?? "");
    };
    assert.deepEqual(await required(["keys", "create"]), ["--tenant", "--scopes"]);
    assert.deepEqual(await required(["keys", "list"]), ["--tenant"]);
    assert.deepEqual(await required(["migrate"]), ["--from", "--to"]);
    assert.deepEqual(await required(["openclaw", "export"]), ["--out"]);
    assert.deepEqual(await required(["sessions", "ls"]), []);
    const once = await runCli(["openclaw", "export", "--help"]);
    assert.doesNotMatch(once.stdout, /\(required\).*\(required\)/);
  });

  test("commander's usage errors exit 2 in the CLI's error format", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["sessions", "ls", "--jsn"],
        /^holdfast: unknown option '--jsn' \[invalid_argument\]\n\(Did you mean --json\?\)/,
      ],
      [["sessions", "show"], /^holdfast: missing required argument 'id' \[invalid_argument\]/],
      [["nosuch"], /^holdfast: unknown command 'nosuch' \[invalid_argument\]/],
      [["migrate", "--from", "memory:"], /^holdfast: required option '--to <url>' not specified/],
      [["serve", "--log-level", "loud"], /argument 'loud' is invalid\. Allowed choices are/],
      [["sessions", "ls", "a"], /^holdfast: too many arguments for 'ls'/],
      [
        ["bench", "store", "nope"],
        /^holdfast: command-argument value 'nope' is invalid for argument 'names'\. Allowed choices are store, .*\[invalid_argument\]/,
      ],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args)));
    for (const [i, res] of runs.entries()) {
      const [args, message] = cases[i] ?? [[], /./];
      assert.equal(res.code, 2, args.join(" "));
      assert.match(res.stderr, message);
      assert.equal(res.stdout, "");
    }
    const bare = await runCli(["sessions"]);
    assert.equal(bare.code, 2, "a group without its subcommand prints its help and exits 2");
    assert.match(bare.stderr, /Usage: holdfast sessions/);
    assert.equal((await runCli(["--version"])).code, 0);
  });

  test("with --json an error is one JSON line on stderr: code, message, param", async () => {
    const store = `sqlite:${path.join(dir, "json-errors.db")}`;
    await runCli(["keys", "create", "--tenant", "a", "--scopes", "admin", "--store", store]);
    const cases: [string[], number, Record<string, unknown>][] = [
      [
        ["sessions", "show", "conv_00000000000000000000000000000000", "--json", "--store", store],
        3,
        { code: "not_found", param: "session_id" },
      ],
      [["cleanup", "--json", "--store", store], 2, { code: "invalid_argument", param: "mode" }],
      [
        ["sessions", "ls", "--jsn", "--json"],
        2,
        { code: "invalid_argument", message: "unknown option '--jsn'", hint: "(Did you mean --json?)" },
      ],
      [["sessions", "ls", "--json", "--store", path.join(dir, "none.db")], 2, { code: "invalid_argument" }],
      [["bench", "nope", "--json"], 2, { code: "invalid_argument" }],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args)));
    for (const [i, res] of runs.entries()) {
      const [args, code, fields] = cases[i] ?? [[], 0, {}];
      assert.equal(res.code, code, args.join(" "));
      assert.equal(res.stdout, "");
      assert.equal(res.stderr.split("\n").length, 2, `one line: ${res.stderr}`);
      const { error } = JSON.parse(res.stderr) as { error: Record<string, unknown> };
      assert.equal(typeof error.message, "string");
      for (const [k, v] of Object.entries(fields)) assert.equal(error[k], v, `${args.join(" ")}: ${k}`);
    }
    const text = await runCli([
      "sessions",
      "show",
      "conv_00000000000000000000000000000000",
      "--store",
      store,
    ]);
    assert.match(
      text.stderr,
      /^holdfast: No session with id .* \[not_found\]\n$/,
      "without --json: the text line",
    );
  });

  test("an unexpected error exits 1 with the stable code internal_error and its message", async () => {
    const printed: string[] = [];
    const write = process.stderr.write;
    const exitCode = process.exitCode;
    const fail = async (json: boolean, error: unknown) => {
      process.stderr.write = ((chunk: string) => printed.push(chunk) > 0) as typeof write;
      try {
        await runCommand(() => Promise.reject(error), { json });
        return process.exitCode;
      } finally {
        process.stderr.write = write;
        process.exitCode = exitCode;
      }
    };
    assert.equal(await fail(true, new TypeError("boom")), 1);
    assert.equal(await fail(false, new TypeError("boom")), 1);
    assert.equal(await fail(true, "a string"), 1);
    assert.deepEqual(JSON.parse(printed[0] ?? ""), {
      error: { code: "internal_error", message: "boom", param: null },
    });
    assert.equal(printed[1], "holdfast: boom [internal_error]\n");
    assert.equal(JSON.parse(printed[2] ?? "").error.code, "internal_error");
  });

  test("an error's operator detail (where an archive lies) is printed under its message, and in --json", async () => {
    const printed: string[] = [];
    const write = process.stderr.write;
    const exitCode = process.exitCode;
    const missing = archiveNotFound("conv_x", "directory '/srv/archives'");
    for (const json of [false, true]) {
      process.stderr.write = ((chunk: string) => printed.push(chunk) > 0) as typeof write;
      try {
        await runCommand(() => Promise.reject(missing), { json });
      } finally {
        process.stderr.write = write;
        process.exitCode = exitCode;
      }
    }
    assert.match(
      printed[0] ?? "",
      /^holdfast: No archive of session 'conv_x'.* \[not_found\]\n {2}Looked in directory '\/srv\/archives'\.\n$/,
    );
    assert.equal(JSON.parse(printed[1] ?? "").error.detail, "Looked in directory '/srv/archives'.");
  });

  test("keys: an unreadable --key-file and --expires-in-days 0 exit 2; --config names the store", async () => {
    const store = `sqlite:${path.join(dir, "keys.db")}`;
    const noFile = await runCli([
      "keys",
      "rotate-master",
      "--key-file",
      path.join(dir, "none"),
      "--store",
      store,
    ]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /Cannot read the key file '.*none' \(ENOENT\).*\[invalid_argument\]/);
    const createKey = (...flags: string[]) =>
      runCli(["keys", "create", "--tenant", "a", "--scopes", "admin", "--store", store, ...flags]);
    const born = await createKey("--expires-in-days", "0");
    assert.equal(born.code, 2);
    assert.match(born.stderr, /--expires-in-days must be an integer from 1 to 3650 \(got '0'\)/);
    const created = await createKey("--json");
    assert.equal(created.code, 0, created.stderr);
    const config = path.join(dir, "keys.yaml");
    await writeFile(config, `store:\n  url: ${JSON.stringify(store)}\n`);
    const listed = await runCli(["keys", "list", "--tenant", "a", "--json", "--config", config]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout)[0].keyId, JSON.parse(created.stdout).keyId);
  });

  test("errors name the CLI's flags, never the library options behind them", async () => {
    const store = `sqlite:${path.join(dir, "flags.db")}`;
    const exportFile = path.join(dir, "flags.jsonl");
    const created = await runCli([
      "keys",
      "create",
      "--tenant",
      "a",
      "--scopes",
      "admin",
      "--store",
      store,
      "--json",
    ]);
    const keyId = JSON.parse(created.stdout).keyId as string;
    // A portable file with one session, imported twice.
    await writeFile(
      exportFile,
      (await runCli(["sessions", "export", "--store", store, "--tenant", "_hf_api_key"])).stdout,
    );
    const importArgs = [
      "sessions",
      "import",
      exportFile,
      "--store",
      `sqlite:${path.join(dir, "flags-to.db")}`,
    ];
    assert.equal((await runCli(importArgs)).code, 0);
    const cases: [string[], RegExp][] = [
      [["mock-upstream", "--error-rate", "2"], /^holdfast: --error-rate must be between 0 and 1; got 2\./],
      [
        ["mock-upstream", "--error-rate", "0.5", "--hang-rate", "0.6"],
        /^holdfast: --error-rate \+ --hang-rate \+ --cut-stream-rate must not exceed 1\./,
      ],
      [["mock-upstream", "--latency-ms", "-1"], /^holdfast: --latency-ms must be a number >= 0; got -1\./],
      [
        importArgs,
        /already exist in the target: 'conv_\w+'; nothing was imported\. Import with --on-conflict skip/,
      ],
      [["openclaw", "cleanup", dir, "--dry-run", "--include-live"], /--include-live needs --older-than/],
      [
        ["cleanup", "--dry-run", "--store", store, "--batch-size", "0"],
        /--batch-size must be a whole number of at least 1 \(got '0'\)/,
      ],
      [
        ["cleanup", "--dry-run", "--store", store, "--batch-size", "1.5"],
        /--batch-size must be a whole number/,
      ],
      [
        ["keys", "rotate", keyId, "--store", store, "--grace-seconds", "99999999999999"],
        /--grace-seconds must be an integer from 0 to 315360000/,
      ],
      [
        ["sessions", "ls", "--store", store, "--status", "gone"],
        /'--status <status>' argument 'gone' is invalid\. Allowed choices are active, archived/,
      ],
      [["sessions", "ls", "--store", store, "--order", "up"], /Allowed choices are desc, asc/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args)));
    for (const [i, res] of runs.entries()) {
      const [args, message] = cases[i] ?? [[], /./];
      assert.match(res.stderr, message, args.join(" "));
      assert.doesNotMatch(
        res.stderr,
        /errorRate|hangRate|latencyMs|onConflict|includeLive|olderThanMs|batchSize|graceMs/,
      );
      assert.equal(res.code, args.includes("import") ? 4 : 2, `${args.join(" ")}: ${res.stderr}`);
    }
  });

  test("a single-value flag given twice with different values exits 2 naming it; the same value twice passes", async () => {
    const db = path.join(dir, "repeated.db");
    const twice = await runCli([
      "keys",
      "create",
      "--tenant",
      "a",
      "--tenant",
      "b",
      "--scopes",
      "admin",
      "--store",
      `sqlite:${db}`,
    ]);
    assert.equal(twice.code, 2, twice.stderr);
    assert.match(
      twice.stderr,
      /^holdfast: option '--tenant <tenant>' was given twice with different values \('a', then 'b'\); give it once \[invalid_argument\]\n/,
    );
    await assert.rejects(stat(db), { code: "ENOENT" }, "no key, no store was created");
    const json = await runCli([
      "sessions",
      "ls",
      "--json",
      "--limit",
      "1",
      "--limit=2",
      "--store",
      "memory:",
    ]);
    assert.equal(json.code, 2, json.stderr);
    assert.equal(json.stderr.split("\n").length, 2, `one line: ${json.stderr}`);
    assert.match(
      (JSON.parse(json.stderr) as { error: { message: string } }).error.message,
      /'-n, --limit <n>'.*'1', then '2'/,
    );
    const same = await runCli([
      "keys",
      "create",
      "-s",
      `sqlite:${db}`,
      "--tenant",
      "a",
      "--tenant",
      "a",
      "--scopes",
      "admin",
      "--json",
      "--json",
    ]);
    assert.equal(same.code, 0, same.stderr);
    assert.equal((JSON.parse(same.stdout) as { tenant: string }).tenant, "a");
  });

  test("mock-upstream and serve: a port out of range or a foreign --host exit 2 naming the flag", async () => {
    const port = await runCli(["mock-upstream", "--port", "70000"]);
    assert.equal(port.code, 2);
    assert.match(
      port.stderr,
      /^holdfast: --port must be a whole number from 0 to 65535; got 70000\. \[invalid_argument\]/,
    );
    // 192.0.2.1 is TEST-NET-1: never an address of this machine.
    const host = await runCli([
      "serve",
      "--host",
      "192.0.2.1",
      "--port",
      "0",
      "--store",
      "memory:",
      "--insecure",
    ]);
    assert.equal(host.code, 2, host.stderr);
    assert.match(host.stderr, /Cannot listen on 192\.0\.2\.1 \(EADDRNOTAVAIL\).*--host or HOLDFAST_HOST/);
    const mockHost = await runCli(["mock-upstream", "--host", "192.0.2.1", "--port", "0"]);
    assert.equal(mockHost.code, 2, mockHost.stderr);
  });
});
