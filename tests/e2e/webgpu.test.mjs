// The page on WebGPU in Debian's Chromium (--enable-unsafe-webgpu: SwiftShader's adapter on a
// machine without a GPU): the badge says which backend runs, WebGPU gives the CPU's greedy
// text, and a device lost mid-reply finishes the reply on the CPU and says so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite } from "./server.mjs";

const site = useSite(["--enable-unsafe-webgpu"]);

// Opens the page with `query`, waits for the model, and returns the page.
async function open(query) {
  const page = await site.browser.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${site.url}?${query}`);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
  return page;
}

// The reply of an autorun link once it is done.
async function reply(page) {
  await page.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 300_000 });
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 300_000 });
  return page.getByTestId("output-text").textContent();
}

const RUN = `prompt=${encodeURIComponent("How are you today?")}&max=6&temperature=0&seed=1&autorun=1`;

test("WebGPU is picked when the browser offers it and gives the CPU's greedy text", async () => {
  const gpu = await open(RUN);
  assert.match(await gpu.getByTestId("backend-badge").textContent(), /WebGPU/);
  const onGpu = await reply(gpu);
  await gpu.close();
  const cpu = await open(`${RUN}&backend=cpu`);
  assert.match(await cpu.getByTestId("backend-badge").textContent(), /CPU/);
  assert.equal(await reply(cpu), onGpu);
  await cpu.close();
});

test("a device lost mid-reply finishes the reply on the CPU and says so", async () => {
  const page = await open(`prompt=${encodeURIComponent("Tell me a story.")}&max=8&temperature=0&backend=webgpu`);
  assert.match(await page.getByTestId("backend-badge").textContent(), /WebGPU/);
  await page.getByTestId("generate-button").click();
  await page.waitForFunction(() => document.querySelector("[data-testid=output-text]").textContent.length > 0,
    null, { timeout: 300_000 });
  await page.evaluate(() => window.limbic.loseDevice());
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 300_000 });
  assert.match(await page.getByTestId("backend-badge").textContent(), /CPU/);
  assert.match(await page.locator("#fallback").textContent(), /webgpu/i);
  assert.match(await page.locator("#speed").textContent(), /^8 tokens/);
  await page.close();
});
