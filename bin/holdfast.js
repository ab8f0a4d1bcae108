#!/usr/bin/env node
// Thin launcher. In the repository the CLI runs from its TypeScript sources (Node's type stripping;
// npm scripts and `npx holdfast` put the pinned Node 24, the `node` devDependency, first on PATH).
// The npm package ships no sources but the compiled dist/ (Node refuses to strip types under
// node_modules), so an installed holdfast runs that.
import { existsSync } from "node:fs";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(
    `holdfast needs Node >= 22.13 (this is ${process.version}). In the holdfast repository, run it through npm (npm start, npx holdfast) to use the pinned Node 24.\n`,
  );
  process.exit(1);
}
const fromSources = existsSync(new URL("../src/cli/main.ts", import.meta.url));
const load = (path) =>
  import(new URL(`../${fromSources ? `src/${path}.ts` : `dist/${path}.js`}`, import.meta.url).href);
// Before the CLI's modules load: Node 22 prints a notice on the first load of node:sqlite, which
// the CLI's import graph holds (see sqlite-notice.ts; every other warning still prints).
(await load("store/drivers/sqlite-notice")).quietSqliteNotice();
await load("cli/main");
