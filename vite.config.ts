// The page's build: www/ (index.html + src/) → www/dist/, a static site with relative paths so it
// can be hosted under any prefix. The worker and the wasm engine (from pkg/, made by `make wasm`)
// are bundled as files of their own; the model and the vectors are fetched at run time (config.ts).
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: "www",
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // No inline scripts: the CSP has no 'unsafe-inline' (the polyfill would be bundled anyway).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  worker: { format: "es" },
  server: { fs: { allow: [".."] } },
  test: {
    root: ".",
    include: ["www/src/**/*.test.ts"],
    environment: "node",
  },
});
