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
const sources = new URL("../src/cli/main.ts", import.meta.url);
await import(existsSync(sources) ? sources.href : "../dist/cli/main.js");
