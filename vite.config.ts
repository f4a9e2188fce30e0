// The page's build: www/ → www/dist/, a static site with relative paths so it can be hosted under
// any prefix. Entries: the page (index.html), the compact embed (embed.html), the classroom
// worksheet (worksheet.html), the <limbic-demo> element for other sites (limbic-demo.js) and the
// service worker (sw.js); those two keep fixed names at the site root, since other pages and the
// browser load them by name. The worker and the wasm engine (from pkg/, made by `make wasm`)
// are bundled as files of their own; the model and the vectors are fetched at run time
// (config.ts). After the files are written, the service worker gets the list of them to
// precache and a version made from their contents (scripts/precache-plugin.mjs).
import { defineConfig } from "vitest/config";
import { classicScripts, precachePlugin, WWW } from "./scripts/precache-plugin.mjs";

/** Entries whose output keeps its name (no hash), at the site root. */
const FIXED = ["sw", "limbic-demo"];
const www = (path: string) => `${WWW}/${path}`;

export default defineConfig({
  root: "www",
  base: "./",
  plugins: [classicScripts(FIXED), precachePlugin()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // No inline scripts: the CSP has no 'unsafe-inline' (the polyfill would be bundled anyway).
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        index: www("index.html"),
        embed: www("embed.html"),
        worksheet: www("worksheet.html"),
        "limbic-demo": www("src/share/embed-element.ts"),
        sw: www("src/sw.ts"),
      },
      output: {
        entryFileNames: (chunk) => (FIXED.includes(chunk.name) ? "[name].js" : "assets/[name]-[hash].js"),
      },
    },
  },
  worker: { format: "es" },
  server: { fs: { allow: [".."] } },
  test: {
    root: ".",
    include: ["www/src/**/*.test.ts"],
    environment: "node",
  },
});
