/**
 * `npm run chaos -- --store <url> [--duration 15s] [--long] [--servers 3] [--clients 64]`
 * Prints the totals and exits 1 if anything acknowledged was lost or duplicated.
 */
import { parseArgs } from "node:util";
import { runChaos } from "./chaos/run.ts";

const { values } = parseArgs({
  options: {
    store: { type: "string", default: "sqlite:./data/chaos.db" },
    duration: { type: "string", default: "15" },
    long: { type: "boolean", default: false },
    servers: { type: "string", default: "3" },
    clients: { type: "string", default: "64" },
    sessions: { type: "string", default: "16" },
    json: { type: "boolean", default: false },
  },
});

const seconds = values.long ? 300 : Number.parseFloat(values.duration);
const report = await runChaos({
  store: values.store,
  durationMs: seconds * 1000,
  servers: Number(values.servers),
  clients: Number(values.clients),
  sessions: Number(values.sessions),
  log: (line) => process.stderr.write(`chaos: ${line}\n`),
});
if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
else {
  const { problems, ...totals } = report;
  for (const [key, value] of Object.entries(totals)) process.stdout.write(`${key.padEnd(20)} ${value}\n`);
  for (const problem of problems.slice(0, 20)) process.stdout.write(`problem: ${problem}\n`);
}
const ok = report.lost === 0 && report.duplicated === 0 && report.gaps === 0 && report.badVersions === 0;
process.exitCode = ok && report.badReplays === 0 ? 0 : 1;
