// The page on WebGPU in Debian's Chromium (--enable-unsafe-webgpu: SwiftShader's adapter on a
// machine without a GPU): where WebGPU is such an emulation the CPU runs unless the link asks,
// and the badge says why; WebGPU gives the CPU's greedy text; a device lost mid-reply finishes
// the reply on the CPU and says so; Gemma 3 270M runs there too when the link asks.
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

// The CPU and the GPU sum products in another order, so greedy text may part at a near tie (the
// tie rule of issue 14; native counts in tests/gpu_loop.rs). This prompt's six greedy tokens
// lead the runner-up by 0.87 nats or more at every step on the CPU (measured 5 December 2026);
// "How are you today?", used before, has a step at 0.12 nats where SwiftShader took the other.
const RUN = `prompt=${encodeURIComponent("Tell me a joke.")}&max=6&temperature=0&seed=1&autorun=1`;

test("on an emulated WebGPU the CPU runs and the badge says why; asked for, WebGPU gives the CPU's text", async () => {
  const cpu = await open(RUN);
  const badge = cpu.getByTestId("backend-badge");
  assert.match(await badge.textContent(), /CPU/);
  assert.match(await badge.getAttribute("title"), /CPU emulation \(SwiftShader\)/);
  assert.match(await cpu.locator("#fallback").textContent(), /^CPU \(WebAssembly\): this browser's WebGPU is a CPU emulation/);
  const onCpu = await reply(cpu);
  await cpu.close();
  const gpu = await open(`${RUN}&backend=webgpu`);
  assert.match(await gpu.getByTestId("backend-badge").textContent(), /WebGPU/);
  assert.match(await gpu.getByTestId("backend-badge").getAttribute("title"), /the link asks for WebGPU/);
  assert.equal(await reply(gpu), onCpu);
  await gpu.close();
});

test("a backend an earlier visit measured faster is used again, and the badge says so", async () => {
  const page = await site.browser.newPage();
  await page.addInitScript(() => localStorage.setItem("limbic.backend",
    JSON.stringify({ backend: "webgpu", reason: "measured faster: WebGPU 300.0, CPU 20.0 tokens/s on this machine" })));
  await page.goto(`${site.url}?max=4&temperature=0`);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
  const badge = page.getByTestId("backend-badge");
  assert.match(await badge.textContent(), /WebGPU/);
  assert.equal(await badge.getAttribute("title"), "measured faster: WebGPU 300.0, CPU 20.0 tokens/s on this machine (on an earlier visit)");
  await page.close();
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

test("Gemma 3 270M asked for WebGPU runs there, read out and steered (its 178 MB embedding in parts: SwiftShader binds 128 MiB a buffer)", async () => {
  const page = await open(`model=gemma-3-270m&backend=webgpu&steer=happy:0.1&prompt=${encodeURIComponent("The sky is")}&max=3&temperature=0&autorun=1`);
  const badge = page.getByTestId("backend-badge");
  assert.match(await badge.textContent(), /WebGPU/);
  assert.match(await badge.getAttribute("title"), /the link asks for WebGPU/);
  assert.match(await page.getByTestId("model-status").textContent(), /\d+ emotions/);
  assert.ok((await reply(page)).trim().length > 0);
  assert.match(await page.locator("#speed").textContent(), /^3 tokens/);
  await page.close();
});
