/**
 * Serves the prebuilt SPA (ui/dist) from memory: the folder is small and read once at start-up,
 * so `npm start` needs no build step and no static-file dependency. Hashed assets are cached
 * for a year; `index.html` is never cached so a new release shows at once.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

export interface StaticFile {
  body: Buffer;
  type: string;
  cacheControl: string;
}

/** Every file of `dir` by its URL path relative to it (`index.html`, `assets/x.js`); empty when absent. */
export function loadStaticFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (current: string): void => {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const key = relative(dir, path).split(sep).join("/");
        files.set(key, {
          body: readFileSync(path),
          type: TYPES[extname(name)] ?? "application/octet-stream",
          cacheControl: key.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
        });
      }
    }
  };
  try {
    walk(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return files;
}
