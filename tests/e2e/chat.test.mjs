// A conversation in the Readout view: with "continue the conversation" on, the next message
// continues the earlier exchange (its turns are part of the prompt, read out like the rest),
// and "New chat" starts over.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite } from "./server.mjs";

const site = useSite(["--disable-gpu"]);

async function send(page, text) {
  await page.getByTestId("prompt-input").fill(text);
  await page.getByTestId("generate-button").click();
  await page.locator("#speed").filter({ hasText: "tokens/s (" }).waitFor({ timeout: 300_000 });
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 300_000 });
  return page.getByTestId("output-text").textContent();
}

test("a second message continues the first exchange; New chat forgets it", async () => {
  const page = await site.browser.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${site.url}?max=8&temperature=0&seed=1&backend=cpu`);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
  await page.locator("#continue-chat").check();
  const first = await send(page, "My name is Ada and I grow tomatoes.");
  assert.ok(first.length > 0);
  assert.match(await page.locator("#turns").textContent(), /1 earlier exchange/);

  await send(page, "What do I grow?");
  const promptText = await page.locator(".bubble.user .tokens").textContent();
  assert.ok(promptText.includes("My name is Ada and I grow tomatoes."), promptText);
  assert.ok(promptText.includes(first.trim()), "the first reply is part of the second prompt");
  assert.ok(promptText.includes("What do I grow?"), promptText);
  assert.match(await page.locator("#turns").textContent(), /2 earlier exchanges/);
  // Every prompt token has its readout, the earlier turns' too.
  const titles = await page.locator(".bubble.user .tok.prompt").evaluateAll((els) => els.map((e) => e.title));
  assert.ok(titles.length > 20, `${titles.length} prompt tokens`);
  assert.deepEqual(titles.filter((t) => t === "no readout"), []);

  await page.locator("#new-chat").click();
  assert.equal(await page.locator("#turns").textContent(), "");
  await send(page, "What do I grow?");
  const fresh = await page.locator(".bubble.user .tokens").textContent();
  assert.ok(!fresh.includes("tomatoes"), fresh);
  await page.close();
});
