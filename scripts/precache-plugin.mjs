// The service worker's precache list for `vite build` (vite.config.ts): after the site is
// written to www/dist/, every file in it (but sw.js itself) and a version made from their
// contents replace the "__LIMBIC_BUILD__" placeholder in dist/sw.js. Plain JavaScript so that
// the type check needs no Node typings; its types are in precache-plugin.d.mts.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The page's source folder (Vite's root), as an absolute path. */
export const WWW = join(dirname(dirname(fileURLToPath(import.meta.url))), "www");
const PLACEHOLDER = '"__LIMBIC_BUILD__"';

// Every file under `dir`, as paths relative to `root` with "/" separators.
function walk(dir, root = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    return e.isDirectory() ? walk(full, root) : [relative(root, full).split("\\").join("/")];
  });
}

/** The list of built files and their version, as sw.ts reads them. */
export function buildList(dist) {
  const files = walk(dist).filter((f) => f !== "sw.js" && !f.startsWith(".")).sort();
  const hash = createHash("sha256");
  for (const f of files) hash.update(f).update("\0").update(readFileSync(join(dist, f)));
  return { version: hash.digest("hex").slice(0, 16), files };
}

/** Makes the entries `names` classic scripts of one file each: no imports or exports (the build
 * fails if one has any) and their code wrapped in a function, so that on another site's page
 * their top-level names never meet the page's globals. */
export function classicScripts(names) {
  return {
    name: "limbic-classic-scripts",
    apply: "build",
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== "chunk" || !chunk.isEntry || !names.includes(chunk.name)) continue;
        if (chunk.imports.length || chunk.exports.length || chunk.dynamicImports.length) {
          throw new Error(`${chunk.fileName} must stand alone (imports ${chunk.imports.join(", ") || "none"}, exports ${chunk.exports.join(", ") || "none"})`);
        }
        chunk.code = `(()=>{${chunk.code}\n})();\n`;
      }
    },
  };
}

export function precachePlugin() {
  return {
    name: "limbic-precache",
    apply: "build",
    closeBundle() {
      const dist = join(WWW, "dist");
      const swPath = join(dist, "sw.js");
      const sw = readFileSync(swPath, "utf8");
      if (!sw.includes(PLACEHOLDER)) throw new Error(`sw.js lacks ${PLACEHOLDER}: the precache list has nowhere to go`);
      writeFileSync(swPath, sw.replace(PLACEHOLDER, JSON.stringify(buildList(dist))));
    },
  };
}
