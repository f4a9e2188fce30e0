// Makes www/public/example.json, the readout the page shows while its model loads, with the real
// engine: serves the built site (`make site` first), runs the default prompt greedily in headless
// Chromium, saves the Readout view's JSON export, and keeps each token's top emotions
// (exampleFromExport in www/src/views/example-data.ts, compiled here with esbuild). Run:
//   make site && node scripts/make_example.mjs && make site
import { readFileSync, writeFileSync } from "node:fs";
import { transform } from "esbuild";
import { launch, startServer } from "../tests/e2e/server.mjs";

const PROMPT = "Write a short story about a girl who lost her dog.";
const MAX_TOKENS = 40;
const SEED = 42;
const OUT = "www/public/example.json";

const src = readFileSync("www/src/views/example-data.ts", "utf8");
const { code } = await transform(src, { loader: "ts", format: "esm" });
const { exampleFromExport } = await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);

const port = 17000 + Math.floor(Math.random() * 1000);
const server = await startServer(port);
const browser = await launch(["--disable-gpu"]);
try {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const query = new URLSearchParams({ view: "readout", prompt: PROMPT, seed: String(SEED), temperature: "0", max: String(MAX_TOKENS), backend: "cpu", autorun: "1" });
  await page.goto(`http://127.0.0.1:${port}/?${query}`);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
  await page.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 180_000 });
  await page.getByTestId("export-json").and(page.locator(":enabled")).waitFor({ timeout: 60_000 });
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-json").click()]);
  const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
  const example = exampleFromExport(exported);
  writeFileSync(OUT, JSON.stringify(example) + "\n");
  const reply = example.tokens.filter((t) => t.kind === "reply").map((t) => t.text).join("");
  console.log(`${OUT}: ${example.tokens.length} tokens (layer ${example.layer}, ${example.backend}); reply: ${JSON.stringify(reply)}`);
} finally {
  await browser.close();
  server.kill();
}
