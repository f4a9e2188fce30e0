// Phones: at 375 × 740 px every view (and the embed) lays out within the screen's width (no
// sideways scrolling: wide tables scroll in their own box), every button, select, link in the
// navigation, slider and checkbox label is at least 44 px tall and wide, and a tap on a token
// shows its readout. Saves docs/screenshots/phone-<view>.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { useSite, recordingPage } from "./server.mjs";

const site = useSite(["--disable-gpu"]);
const RUN = `prompt=${encodeURIComponent("Tell me about your weekend.")}&max=8&temperature=0&seed=1&backend=cpu`;

// Page width against the screen's, and the touch targets under 44 px (with their sizes).
function measure(page) {
  return page.evaluate(() => {
    const small = [];
    const targets = document.querySelectorAll("button, select, summary, nav a, .header-link, input[type=range], input[type=number], label:has(> input[type=checkbox])");
    for (const el of targets) {
      const b = el.getBoundingClientRect();
      if (b.width === 0 || el.closest("[hidden], details:not([open]) > :not(summary)")) continue;
      if (b.height < 44 || b.width < 44) small.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} ${Math.round(b.width)}×${Math.round(b.height)}`);
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth, small };
  });
}

async function check(page, name) {
  const m = await measure(page);
  assert.ok(m.scrollWidth <= m.innerWidth, `${name}: the page is ${m.scrollWidth} px wide on a ${m.innerWidth} px screen`);
  assert.deepEqual(m.small, [], `${name}: touch targets under 44 px`);
  mkdirSync("docs/screenshots", { recursive: true });
  await page.screenshot({ path: `docs/screenshots/phone-${name}.png` });
}

const ready = (p) => p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
const replied = (p) => p.locator("#speed").filter({ hasText: "tokens/s (" }).waitFor({ timeout: 180_000 });

test("every view fits a 375 px phone with touch-sized controls; a tap shows a token's readout", async () => {
  const context = await site.browser.newContext({ viewport: { width: 375, height: 740 }, hasTouch: true });
  const p = await recordingPage(context);
  await p.goto(`${site.url}?${RUN}&autorun=1`);
  await ready(p);
  await replied(p);
  const token = p.locator("[data-testid=output-text] .tok").first();
  await token.scrollIntoViewIfNeeded();
  const want = `Token ${JSON.stringify(await token.textContent())} (reply, layer ${await p.getByTestId("layer-select").inputValue()})`;
  await token.tap({ position: { x: 3, y: 4 } });
  // The panel redraws on the next frame: wait for it, then check the text exactly.
  await p.locator("#readout-token").filter({ hasText: want }).waitFor({ timeout: 5_000 }).catch(() => {});
  assert.equal(await p.locator("#readout-token").textContent(), want);
  await p.evaluate(() => scrollTo(0, 0));
  await check(p, "readout");

  await p.goto(`${site.url}?view=steer&steer=calm:0.2&${RUN}&autorun=1`);
  await ready(p);
  await replied(p);
  await check(p, "steer");

  await p.goto(`${site.url}?view=make&${RUN}`);
  await ready(p);
  await p.locator("#make-preset").selectOption("pirate talk");
  await p.getByTestId("make-button").click();
  await p.locator("#make-status", { hasText: /^(Made|Error)/ }).waitFor({ timeout: 180_000 });
  await p.getByTestId("generate-button").click();
  await replied(p);
  await p.evaluate(() => scrollTo(0, 0));
  await check(p, "make");

  await p.goto(`${site.url}?view=map`);
  await ready(p);
  await p.getByTestId("map-scatter").waitFor({ timeout: 60_000 });
  await check(p, "map");

  await p.goto(`${site.url}?view=experiments`);
  await ready(p);
  await p.getByTestId("dose-run").and(p.locator(":enabled")).click();
  await p.locator("#dose-status", { hasText: /^(done|error)/ }).waitFor({ timeout: 180_000 });
  await p.evaluate(() => scrollTo(0, 0));
  await check(p, "experiments");

  await p.goto(`${site.url}?view=about`);
  await ready(p);
  await p.getByTestId("about-accuracy").waitFor({ timeout: 60_000 });
  await check(p, "about");

  await p.goto(`${site.url}embed.html?${RUN}&autorun=1`);
  await replied(p);
  await check(p, "embed");
  assert.deepEqual(p.errors, []);
  await context.close();
});
