// Browsers without what the page uses, each a path tried in Chromium with the feature taken
// away: no SharedArrayBuffer (the page served without cross-origin isolation), no relaxed SIMD
// (WebAssembly.validate says no), no WebGPU (navigator.gpu deleted), no Cache API (caches
// deleted), no service worker (navigator.serviceWorker deleted). Each still loads, replies, and
// says what is slower or missing. Before downloading, the page says how big the model is (and
// warns a device that reports little memory); a failed download says so, never a dead tab.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite } from "./server.mjs";

const site = useSite(["--disable-gpu"]);
const RUN = `prompt=${encodeURIComponent("Say hello.")}&max=3&temperature=0&seed=1`;

// A fresh context (its own caches) with `setup(context, page)` applied before the page opens;
// loads `query`, generates, and returns the page, the features note and the run's stats.
async function tryWithout(setup, query = RUN) {
  const context = await site.browser.newContext({ serviceWorkers: "allow" });
  const p = await context.newPage();
  p.errors = [];
  p.on("pageerror", (e) => p.errors.push(e.message));
  await setup(context, p);
  await p.goto(`${site.url}?${query}`);
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
  await p.getByTestId("generate-button").click();
  await p.locator("#speed").filter({ hasText: "tokens/s (" }).waitFor({ timeout: 180_000 });
  assert.ok((await p.getByTestId("output-text").textContent()).length > 0, "a reply");
  const stats = JSON.parse(await p.locator("#speed").getAttribute("data-stats"));
  const note = await p.getByTestId("features").textContent();
  assert.deepEqual(p.errors, []);
  return { context, p, note, stats };
}

test("without SharedArrayBuffer (no cross-origin isolation): one thread, and it says so", async () => {
  const { context, p, note, stats } = await tryWithout(async (context) => {
    // The page's own document without COOP and COEP.
    await context.route((url) => url.pathname === "/", async (route) => {
      const resp = await route.fetch();
      const headers = { ...resp.headers() };
      delete headers["cross-origin-opener-policy"];
      delete headers["cross-origin-embedder-policy"];
      await route.fulfill({ response: resp, headers });
    });
  }, `${RUN}&threads=2`);
  assert.equal(await p.evaluate(() => crossOriginIsolated), false);
  assert.match(note, /No SharedArrayBuffer .*one thread/);
  assert.equal(stats.threads, 1);
  await context.close();
});

test("without relaxed SIMD: the plain build runs, and it says so", async () => {
  const { context, note, stats } = await tryWithout((_, p) => p.addInitScript(() => { WebAssembly.validate = () => false; }));
  assert.match(note, /No WebAssembly relaxed SIMD: the plain engine build runs/);
  assert.equal(stats.simd, "plain");
  await context.close();
});

test("without WebGPU: the CPU runs, and it says so", async () => {
  const { context, p, note } = await tryWithout((_, p) => p.addInitScript(() => { delete Navigator.prototype.gpu; }));
  assert.match(note, /No WebGPU in this browser: the model runs on the CPU/);
  assert.match(await p.getByTestId("backend-badge").textContent(), /CPU/);
  await context.close();
});

test("without the Cache API: the model is not kept, Clear cache is gone, and it says so", async () => {
  const { context, p, note } = await tryWithout((_, p) => p.addInitScript(() => { delete window.caches; delete Window.prototype.caches; }));
  assert.match(note, /No Cache API .*downloaded again on every visit/);
  assert.equal(await p.locator("#clear-cache").isVisible(), false);
  // Another page of the same browser profile, with caches: the worker kept no model.
  const other = await context.newPage();
  await other.goto(`${site.url}worksheet.html`);
  assert.equal(await other.evaluate(async () => (await (await caches.open("limbic-model-v1")).keys()).length), 0);
  await context.close();
});

test("without service workers: no offline copy, and it says so", async () => {
  const { context, p, note } = await tryWithout((_, p) => p.addInitScript(() => { delete Navigator.prototype.serviceWorker; }));
  assert.match(note, /No service workers: the page will not open offline/);
  assert.equal(await p.evaluate(() => "serviceWorker" in navigator), false);
  assert.equal(context.serviceWorkers().length, 0);
  await context.close();
});

test("the size is said before downloading, low memory is warned of; a failed download says what happened", async () => {
  const context = await site.browser.newContext({ serviceWorkers: "block" });
  await context.route("**/models/**", (route) => route.abort("connectionreset"));
  const p = await context.newPage();
  // A device with little memory (Chromium reports 0.25 to 8 GB).
  await p.addInitScript(() => Object.defineProperty(Navigator.prototype, "deviceMemory", { get: () => 0.5 }));
  await p.goto(site.url);
  assert.match(await p.locator("#size-note").textContent(), /~100 MB download/);
  await p.getByTestId("features").filter({ hasText: "reports 0.5 GB of memory: the model (~300 MB while it runs) may not fit" }).waitFor();
  await p.getByTestId("model-status").filter({ hasText: "error" }).waitFor({ timeout: 60_000 });
  assert.match(await p.getByTestId("model-status").textContent(), /^error: the model could not be downloaded \(model download failed: .*\): check the connection and reload$/);
  assert.match(await p.locator("#notice").textContent(), /Reload to try again/);
  // The tab is alive: the views still switch.
  await p.getByRole("link", { name: "About" }).click();
  await p.getByRole("heading", { name: "What this shows, and what it does not" }).waitFor();
  await context.close();
});

test("with everything there, only what this browser lacks is named; the wasm memory is reported", async () => {
  const { context, p, note } = await tryWithout(async () => {});
  const gpu = await p.evaluate(() => "gpu" in navigator);
  assert.equal(note, gpu ? "" : "No WebGPU in this browser: the model runs on the CPU.");
  const bytes = await p.evaluate(() => window.limbic.wasmMemory());
  console.log(`wasm memory after one reply: ${(bytes / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(bytes > 100e6 && bytes < 1e9, `${bytes}`);
  await context.close();
});
