// Accessibility in Debian's Chromium: axe-core (WCAG 2.1 A and AA rules) finds no violation in
// any of the six views after a reply or a run, nor in the embed, in light and dark colour
// schemes; every chart is an image labelled with its summary, the main ones with their numbers
// as a table beside them; the reply is announced once, politely, when it ends (not token by token); focus is
// visible and Tab goes through every view in reading order; reduced motion turns transitions off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { useSite, recordingPage } from "./server.mjs";

const site = useSite(["--disable-gpu"]);
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const RUN = `prompt=${encodeURIComponent("How was your day?")}&max=6&temperature=0&seed=1&backend=cpu`;

// axe-core's violations on `page` as "rule: target …" lines (empty when it passes). The script
// goes in through the DevTools protocol, which the page's CSP does not govern.
async function violations(page) {
  await page.evaluate(AXE);
  const found = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } })
    .then((r) => r.violations.map((v) => `${v.id} (${v.impact}, ${v.nodes.length}×): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ") + (v.id === "color-contrast" ? " " + (n.any[0]?.message ?? "").slice(0, 120) : "")).join(" | ")}`)), TAGS);
  return found;
}

// Charts with no text alternative: every outermost chart must be an image with a label (its
// summary); returns the ones that are not.
function unlabelledCharts(page) {
  return page.evaluate(() => [...document.querySelectorAll("main svg")]
    .filter((svg) => !svg.parentElement.closest("svg, [role=img]"))
    .filter((svg) => svg.getAttribute("role") !== "img" || (svg.getAttribute("aria-label") ?? "").length < 10)
    .map((svg) => svg.outerHTML.slice(0, 80)));
}

// The rows of the data table under the chart in `selector`.
const tableRows = (page, selector) => page.locator(`${selector} details.chart-data tbody tr`).count();

async function open(p, query) {
  await p.goto(`${site.url}${query}`);
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
}

const replied = (p) => p.locator("#speed").filter({ hasText: "tokens/s (" }).waitFor({ timeout: 180_000 });

// The violations in light and in dark colour scheme ("dark: rule …" for the dark ones).
async function bothSchemes(page) {
  const light = await violations(page);
  await page.emulateMedia({ colorScheme: "dark" });
  const dark = (await violations(page)).map((v) => `dark: ${v}`);
  await page.emulateMedia({ colorScheme: "light" });
  return [...light, ...dark];
}

test("no axe violations in any view or the embed, light or dark; the reply is announced once", async () => {
  const p = await recordingPage(site.browser, { viewport: { width: 1280, height: 900 }, colorScheme: "light" });
  const report = {};
  await open(p, `?${RUN}`);
  // Count what the live region says while a reply streams: "generating", then the reply.
  await p.evaluate(() => {
    window.__said = [];
    new MutationObserver(() => window.__said.push(document.getElementById("announce").textContent))
      .observe(document.getElementById("announce"), { childList: true, characterData: true, subtree: true });
  });
  await p.getByTestId("generate-button").click();
  await replied(p);
  const said = await p.evaluate(() => window.__said);
  const reply = (await p.getByTestId("output-text").textContent()).trim();
  assert.equal(said.length, 2, JSON.stringify(said));
  assert.equal(said[0], "Generating a reply…");
  assert.equal(said[1], `Reply done, 6 tokens: ${reply}`);
  assert.equal(await p.locator("[aria-live]:not([aria-live=off]) [data-testid=output-text], [data-testid=output-text][aria-live], #speed[role=status]").count(), 0);
  report.readout = await bothSchemes(p);
  assert.deepEqual(await unlabelledCharts(p), []);
  assert.ok(await tableRows(p, ".trajectory") > 6, "the trajectory's table");
  await open(p, `?view=steer&steer=calm:0.2&${RUN}&autorun=1`);
  await replied(p);
  report.steer = await bothSchemes(p);
  await open(p, `?view=make&${RUN}`);
  await p.locator("#make-preset").selectOption("bedtime story");
  await p.getByTestId("make-button").click();
  await p.locator("#make-status", { hasText: /^(Made|Error)/ }).waitFor({ timeout: 180_000 });
  await p.getByTestId("generate-button").click();
  await replied(p);
  report.make = await bothSchemes(p);
  await open(p, "?view=map");
  await p.getByTestId("map-scatter").waitFor({ timeout: 60_000 });
  report.map = await bothSchemes(p);
  assert.deepEqual(await unlabelledCharts(p), []);
  assert.equal(await tableRows(p, "main"), 171, "the scatter's table (the heatmap's is made when unfolded)");
  // The heatmap's table: every pair, in its order, the diagonal 1.
  const heat = 'section[aria-label="similarity heatmap"]';
  await p.locator(`${heat} details.chart-data summary`).click();
  // The table is made when unfolded: wait for its rows.
  await p.locator(`${heat} details.chart-data tbody tr`).nth(170).waitFor({ timeout: 30_000 });
  assert.equal(await tableRows(p, heat), 171, "the heatmap's table");
  const cells = await p.locator(`${heat} details.chart-data tbody tr`).evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.ok(cells.every((r) => r.length === 172), "171 cosines a row");
  assert.ok(cells.every((r, i) => r[i + 1] === "1.00"), "the diagonal is 1");
  assert.deepEqual(cells.map((r) => r[0]), await p.locator(`${heat} details.chart-data thead th`).evaluateAll((th) => th.slice(1).map((c) => c.textContent)), "rows and columns in one order");
  await open(p, "?view=experiments");
  await p.getByTestId("dose-run").and(p.locator(":enabled")).click();
  await p.locator("#dose-status", { hasText: /^(done|error)/ }).waitFor({ timeout: 180_000 });
  report.experiments = await bothSchemes(p);
  assert.deepEqual(await unlabelledCharts(p), []);
  await open(p, "?view=about");
  await p.getByTestId("about-accuracy").waitFor({ timeout: 60_000 });
  report.about = await bothSchemes(p);
  assert.deepEqual(await unlabelledCharts(p), []);
  assert.equal(await tableRows(p, ".about-chart"), 30, "the accuracy chart's table");
  await open(p, `embed.html?${RUN}&autorun=1`);
  await replied(p);
  report.embed = await bothSchemes(p);
  console.log(JSON.stringify(report, null, 1));
  assert.deepEqual(report, { readout: [], steer: [], make: [], map: [], experiments: [], about: [], embed: [] });
  assert.deepEqual(p.errors, []);
  await p.close();
});

test("focus is visible, dark scheme is dark, reduced motion stops transitions", async () => {
  const p = await recordingPage(site.browser, { colorScheme: "dark", reducedMotion: "reduce" });
  await p.goto(site.url);
  // Keyboard focus on the first view link draws the accent outline.
  await p.locator('nav a[data-view="steer"]').focus();
  const outline = await p.locator('nav a[data-view="steer"]').evaluate((a) => getComputedStyle(a).outlineStyle + " " + getComputedStyle(a).outlineWidth);
  assert.equal(outline, "solid 3px");
  const bg = await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g).map(Number);
  assert.ok(r + g + b < 150, `dark background: ${bg}`);
  const tok = await p.evaluate(() => {
    const s = document.createElement("span");
    s.className = "tok";
    document.body.append(s);
    return getComputedStyle(s).transitionDuration;
  });
  assert.equal(tok, "0s");
  await p.emulateMedia({ colorScheme: "light", reducedMotion: "no-preference" });
  const lightBg = await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  assert.equal(lightBg, "rgb(255, 255, 255)");
  assert.notEqual(await p.evaluate(() => getComputedStyle(document.querySelector(".tok")).transitionDuration), "0s");
  await p.close();
});

// Tabs from a view's link through its main region: the elements focused in turn, each with its
// place on screen and its focus indicator (outline or box-shadow as computed).
async function tabThrough(p, view) {
  await p.locator(`nav a[data-view="${view}"]`).click();
  await p.waitForFunction((v) => new URLSearchParams(location.search).get("view") === v, view);
  if (view === "map") await p.getByTestId("map-scatter").waitFor({ timeout: 60_000 });
  await p.locator(`nav a[data-view="${view}"]`).focus();
  const seen = [];
  for (let k = 0; k < 80; k++) {
    await p.keyboard.press("Tab");
    const f = await p.evaluate(() => {
      const el = document.activeElement;
      if (!el || !el.closest("main")) return null;
      const r = el.getBoundingClientRect();
      const s = getComputedStyle(el);
      const name = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.dataset.testid ? `[${el.dataset.testid}]` : ""} "${(el.getAttribute("aria-label") ?? el.textContent ?? "").trim().slice(0, 30)}"`;
      const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
      return { name, top: r.top + scrollY, left: r.left, right: r.right, width: r.width, height: r.height, indicator: outline || s.boxShadow !== "none" };
    });
    if (f === null && seen.length) break;
    if (f) seen.push(f);
  }
  return seen;
}

test("Tab goes through each view's controls in reading order, each with a visible focus indicator", async () => {
  const p = await recordingPage(site.browser, { viewport: { width: 1280, height: 900 } });
  await open(p, "?backend=cpu");
  for (const view of ["readout", "steer", "map", "experiments", "about"]) {
    const seen = await tabThrough(p, view);
    const names = seen.map((f) => f.name);
    assert.ok(seen.length >= 2, `${view}: only ${names.join(", ")} reached by Tab`);
    for (const f of seen) {
      assert.ok(f.indicator, `${view}: ${f.name} has no visible focus indicator`);
      assert.ok(f.width > 0 && f.height > 0, `${view}: ${f.name} is focused but not shown`);
    }
    // Reading order: each next control is below the last, or in a column to its right.
    for (let k = 1; k < seen.length; k++) {
      const [a, b] = [seen[k - 1], seen[k]];
      assert.ok(b.top >= a.top - 4 || b.left >= a.right - 4, `${view}: ${b.name} (y ${Math.round(b.top)}) comes after ${a.name} (y ${Math.round(a.top)}) but sits above it`);
    }
    console.log(`${view}: ${seen.length} stops: ${names.slice(0, 12).join(" → ")}${seen.length > 12 ? " → …" : ""}`);
  }
  assert.deepEqual(p.errors, []);
  await p.close();
});
