#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript run directly by Node's type stripping.
// npm scripts and `npx holdfast` put the pinned Node 24 (the `node` devDependency) first on PATH.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(
    `holdfast needs Node >= 22.13 (this is ${process.version}). Run it through npm (npm start, npx holdfast) to use the pinned Node 24.\n`,
  );
  process.exit(1);
}
await import("../src/cli/main.ts");
