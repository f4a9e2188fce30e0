// The CPU engine's variants give the same greedy reply: with its co-worker (a second wasm
// instance in its own worker taking half of each large product through a SharedArrayBuffer;
// the page is cross-origin isolated), and as the build without relaxed SIMD that browsers
// lacking it load. (threads=2 forces the co-worker: by default it starts only with 4 or more
// cores; simd=plain forces that build: Chromium has relaxed SIMD.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite } from "./server.mjs";

const site = useSite([]);

async function reply(query) {
  const page = await site.browser.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${site.url}?${query}`);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true, "the page is cross-origin isolated");
  // The co-worker loads its own copy of the model after the page is ready: give it time.
  await page.waitForTimeout(3000);
  await page.getByTestId("generate-button").click();
  await page.locator("#speed").filter({ hasText: "tokens/s (" }).waitFor({ timeout: 300_000 });
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 300_000 });
  const out = {
    text: await page.getByTestId("output-text").textContent(),
    speed: await page.locator("#speed").textContent(),
    stats: JSON.parse(await page.locator("#speed").getAttribute("data-stats")),
  };
  await page.close();
  return out;
}

test("two threads give the one-thread greedy reply", async () => {
  const q = `backend=cpu&prompt=${encodeURIComponent("Tell me about the sea.")}&max=24&temperature=0&seed=3`;
  const two = await reply(`${q}&threads=2`);
  const one = await reply(`${q}&threads=1`);
  assert.match(two.speed, /2 threads/, two.speed);
  assert.doesNotMatch(one.speed, /threads/, one.speed);
  assert.ok(one.text.length > 20, one.text);
  assert.equal(two.text, one.text);
});

test("the build without relaxed SIMD gives the same greedy reply", async () => {
  const q = `backend=cpu&prompt=${encodeURIComponent("Tell me about the sea.")}&max=24&temperature=0&seed=3&threads=1`;
  const relaxed = await reply(q);
  const plain = await reply(`${q}&simd=plain`);
  assert.equal(relaxed.stats.simd, "relaxed");
  assert.equal(plain.stats.simd, "plain");
  assert.ok(relaxed.text.length > 20, relaxed.text);
  assert.equal(plain.text, relaxed.text);
});
