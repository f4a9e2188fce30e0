// The page end to end in Debian's Chromium (playwright-core, never a downloaded browser):
// the model loads from the local server, text streams, Stop stops.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch } from "./server.mjs";

const PORT = 18000 + Math.floor(Math.random() * 1000);
const URL_ = `http://127.0.0.1:${PORT}/`;
let server, browser, page;

before(async () => {
  server = await startServer(PORT);
  browser = await launch(["--disable-gpu"]);
  page = await browser.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(URL_);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

test("the model loads and the badge names the CPU backend", async () => {
  assert.match(await page.getByTestId("backend-badge").textContent(), /CPU/);
  assert.equal(await page.getByTestId("model-progress").evaluate((p) => p.value), 1);
});

test("generation streams text into the output", async () => {
  await page.fill("#max-tokens", "12");
  await page.getByTestId("prompt-input").fill("Name three rivers in Europe.");
  await page.getByTestId("generate-button").click();
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 120_000 });
  const text = await page.getByTestId("output-text").textContent();
  assert.ok(text.trim().split(/\s+/).length >= 3, `too little text: ${JSON.stringify(text)}`);
  assert.match(await page.locator("#speed").textContent(), /^12 tokens, [\d.]+ tokens\/s \(prompt [\d.]+, reply [\d.]+ tokens\/s\)$/);
});

test("Stop ends a long generation early", async () => {
  await page.fill("#max-tokens", "500");
  await page.getByTestId("prompt-input").fill("Write a long story about the sea.");
  await page.getByTestId("generate-button").click();
  await page.waitForFunction(() => document.querySelector("[data-testid=output-text]").textContent.length > 10);
  await page.getByTestId("stop-button").click();
  await page.locator("#speed", { hasText: "stopped" }).waitFor({ timeout: 30_000 });
  const n = Number((await page.locator("#speed").textContent()).split(" ")[0]);
  assert.ok(n > 0 && n < 500, `stopped after ${n} tokens`);
});

test("prompt text is shown as text, never run as HTML", async () => {
  const evil = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
  await page.fill("#max-tokens", "2");
  await page.getByTestId("prompt-input").fill(evil);
  await page.getByTestId("generate-button").click();
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 60_000 });
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator("#output img").count(), 0);
});

test("the emotion readout lists the top emotions of the current token with numbers", async () => {
  await page.fill("#max-tokens", "6");
  await page.getByTestId("prompt-input").fill("My dog died this morning.");
  await page.getByTestId("generate-button").click();
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 60_000 });
  const items = await page.getByTestId("emotion-readout").locator("li").allTextContents();
  assert.equal(items.length, 5);
  for (const it of items) assert.match(it, /^[a-z -]+ -?\d+\.\d\d$/);
  assert.equal(await page.locator("[data-testid=steer-emotion] option").count(), 172);
});

test("steering toward an emotion changes the greedy reply", async () => {
  const reply = async () => {
    await page.getByTestId("generate-button").click();
    await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 60_000 });
    return page.getByTestId("output-text").textContent();
  };
  await page.fill("#max-tokens", "10");
  await page.fill("#temperature", "0");
  await page.getByTestId("prompt-input").fill("Tell me about your weekend.");
  await page.getByTestId("steer-emotion").selectOption("");
  const plain = await reply();
  assert.equal(await reply(), plain, "greedy replies differ without steering");
  await page.getByTestId("steer-emotion").selectOption("sad");
  await page.getByTestId("steer-strength").fill("0.3");
  const steered = await reply();
  assert.notEqual(steered, plain);
  // Side by side: the unsteered reply with the same seed streams first, beside the steered one.
  assert.equal(await page.getByTestId("baseline-text").textContent(), plain);
  assert.ok(await page.getByTestId("baseline-text").isVisible());
  await page.getByTestId("steer-emotion").selectOption("");
});

test("a shared link reproduces a steered run, and Copy link makes such a link", async () => {
  // The steered reply from the form...
  await page.fill("#max-tokens", "8");
  await page.fill("#temperature", "0");
  await page.getByTestId("prompt-input").fill("Describe your morning.");
  await page.getByTestId("steer-emotion").selectOption("calm");
  await page.getByTestId("steer-strength").fill("0.3");
  await page.getByTestId("generate-button").click();
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 60_000 });
  const fromForm = await page.getByTestId("output-text").textContent();
  await page.getByTestId("copy-link").click();
  const link = await page.locator("#share-url").inputValue();
  assert.match(link, /steer=calm%3A0\.3/);
  assert.match(link, /autorun=1/);
  // ...equals the reply a fresh page makes from the link alone.
  const other = await browser.newPage();
  await other.goto(link);
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  await other.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 60_000 });
  await other.getByTestId("generate-button").and(other.locator(":enabled")).waitFor({ timeout: 60_000 });
  assert.equal(await other.getByTestId("output-text").textContent(), fromForm);
  await other.close();
  await page.getByTestId("steer-emotion").selectOption("");
});

test("HTML in a linked prompt is shown as text and runs nothing", async () => {
  const evil = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
  const other = await browser.newPage();
  await other.goto(`${URL_}?prompt=${encodeURIComponent(evil)}&max=2&autorun=1&steer=${encodeURIComponent("<b>x</b>:1")}`);
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  await other.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 60_000 });
  assert.equal(await other.getByTestId("prompt-input").inputValue(), evil);
  assert.equal(await other.evaluate(() => window.__pwned), undefined);
  assert.equal(await other.locator("img, b").count(), 0);
  assert.match(await other.locator("#link-note").textContent(), /ignored steer "<b>x<\/b>:1"/);
  await other.close();
});

test("a damaged cached model is dropped and downloaded again; Clear cache empties the cache", async () => {
  const other = await browser.newPage();
  await other.goto(URL_);
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  // As a half-finished earlier download would leave it: a short copy under the model's key.
  await other.evaluate(async () => {
    const c = await caches.open("limbic-model-v1");
    await c.put("models/SmolLM2-135M-Instruct.Q4_1.gguf", new Response(new Uint8Array(1000)));
  });
  await other.reload();
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  assert.match(await other.locator("#notice").textContent(), /damaged/);
  // The good copy is cached again: the next load takes it without a notice.
  await other.reload();
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  assert.equal(await other.locator("#notice").textContent(), "");
  await other.getByTestId("clear-cache").click();
  await other.waitForLoadState("load");
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  await other.close();
});
