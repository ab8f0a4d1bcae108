import { defineConfig } from "vite";

// Served by `holdfast serve` under /ui/; the build is committed (ui/dist) so `npm start` needs no build.
export default defineConfig({
  root: import.meta.dirname,
  base: "/ui/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
