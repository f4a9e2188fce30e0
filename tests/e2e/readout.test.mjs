// The per-token readout: tokens are ranked by a running mean of their scores and coloured by
// an intensity against neutral text (issue 13), so a factual reply stays mostly uncoloured
// while an emotional passage lights up. Screenshot: docs/screenshots/readout-neutral.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useSite } from "./server.mjs";

const site = useSite(["--disable-gpu"]);

/** Share of the prompt's and reply's tokens with no background colour. */
async function uncoloured(page, selector) {
  const bg = await page.locator(selector).evaluateAll((els) => els.filter((e) => e.textContent.trim()).map((e) => getComputedStyle(e).backgroundColor));
  return { share: bg.filter((c) => c === "rgba(0, 0, 0, 0)" || c === "transparent").length / Math.max(1, bg.length), n: bg.length };
}

test("a neutral factual reply is mostly uncoloured; an emotional passage lights up", async () => {
  const page = await site.browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on("pageerror", (e) => console.error("page error:", e.message));
  const neutral = "How many millilitres are in a US cup? Give the number and the conversion.";
  await page.goto(`${site.url}?max=40&temperature=0&seed=1&backend=cpu&prompt=${encodeURIComponent(neutral)}`);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
  const windowSelect = page.getByTestId("window-select");
  assert.ok(Number(await windowSelect.inputValue()) > 1, "the default window smooths over several tokens");
  await page.getByTestId("generate-button").click();
  await page.locator("#speed").filter({ hasText: "tokens/s (" }).waitFor({ timeout: 300_000 });
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 300_000 });
  await page.waitForTimeout(400); // the last redraw
  const reply = await uncoloured(page, ".bubble.model .tok");
  assert.ok(reply.n >= 10, `${reply.n} reply tokens`);
  assert.ok(reply.share >= 0.7, `only ${(100 * reply.share).toFixed(0)}% of the factual reply's tokens are uncoloured`);
  assert.match(await page.locator("#readout-meaning").textContent(), /neutral text/);
  await page.screenshot({ path: "docs/screenshots/readout-neutral.png", fullPage: false });

  // The same page on a grieving passage (the user's words, read out as the prompt).
  const sad = "My grandmother died on Sunday. I keep setting two cups out in the morning and then I remember, and I just sit there in her kitchen with her cardigan still on the chair and I cannot stop crying.";
  await page.getByTestId("prompt-input").fill(sad);
  await page.getByTestId("generate-button").click();
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 300_000 });
  await page.waitForTimeout(400);
  const passage = await uncoloured(page, ".bubble.user .tok.prompt");
  assert.ok(passage.share < reply.share, `the grieving passage (${(100 * passage.share).toFixed(0)}% uncoloured) should light up more than the factual reply (${(100 * reply.share).toFixed(0)}%)`);
  // Raw (one token) stays available.
  await windowSelect.selectOption("1");
  // The explanation is redrawn on the next frame: wait for it rather than read it at once.
  await page.locator("#readout-meaning").filter({ hasText: /last 1 token\b/ }).waitFor({ timeout: 10_000 });
  assert.match(await page.locator("#readout-meaning").textContent(), /last 1 token;/);
  await page.close();
});
