// The Emotion map and About views end to end in Debian's Chromium (playwright-core): the map
// draws all emotion vectors in PCA space and their similarity heatmap from the engine's own
// vectors, choosing an emotion lists its neighbours with cosines, and About shows the numbers
// of docs/validation/report.json.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { recordingPage, useSite } from "./server.mjs";

const report = JSON.parse(readFileSync("docs/validation/report.json", "utf8"));
const site = useSite(["--disable-gpu"]);

// A page that records page errors and CSP violations (window.__csp).
async function open(query) {
  const p = await recordingPage(site.browser, { viewport: { width: 1280, height: 900 } });
  await p.goto(`${site.url}?${query}`);
  return p;
}

async function clean(p) {
  assert.deepEqual(await p.evaluate(() => window.__csp), []);
  assert.deepEqual(p.errors, []);
}

// "name 0.83" rows of the neighbour list.
async function neighbourRows(p) {
  return (await p.getByTestId("map-neighbours").locator("li").allTextContents()).map((t) => t.replace(/^\S+\s/, "").trim());
}

test("view=map draws 171 emotions on PC1 × PC2 and the similarity heatmap", async () => {
  const p = await open("view=map");
  await p.getByTestId("map-scatter").waitFor({ timeout: 120_000 });
  const n = await p.getByTestId("map-emotion").locator("option").count();
  assert.equal(n, 171);
  assert.equal(await p.locator("[data-testid=map-scatter] g.map-dots > *").count(), n);
  // Every point carries its name (a <title> for hover), and cluster centres are labelled.
  const titles = await p.locator("[data-testid=map-scatter] g.map-dots title").allTextContents();
  assert.equal(titles.length, n);
  assert.ok(titles.some((t) => t.startsWith("afraid\ncluster ")), titles[0]);
  assert.ok(await p.locator("[data-testid=map-scatter] .map-labels text.always").count() >= 2);
  // The axes say what share of variance each PC explains (the report's, at the same layer).
  const axes = await p.locator("[data-testid=map-scatter]").textContent();
  const share = (i) => `${(100 * report.geometry.pc_shares[i]).toFixed(1)} % of variance`;
  assert.ok(axes.includes(`PC1 (${share(0)})`), axes.slice(0, 200));
  assert.ok(axes.includes(`PC2 (${share(1)})`));
  // The heatmap: n × n cells and a legend.
  assert.equal(await p.locator("[data-testid=map-heatmap] g[aria-label=cell] rect").first().evaluate((r) => r.parentNode.childElementCount), n * n);
  assert.ok(await p.locator("svg.chart-ramp").count() >= 1);
  // The valence/arousal correlations from the report.
  const table = await p.getByTestId("va-correlations").textContent();
  assert.ok(table.includes(Math.abs(report.geometry.correlations.pc_valence_r[2]).toFixed(2)), table);
  await clean(p);
  await p.close();
});

test("choosing afraid lists its nearest neighbours with cosine numbers; hovering a point does too", async () => {
  const p = await open("view=map");
  await p.getByTestId("map-scatter").waitFor({ timeout: 120_000 });
  await p.getByTestId("map-emotion").focus();
  await p.getByTestId("map-emotion").selectOption("afraid");
  await p.locator("#map-near-title", { hasText: "Nearest to afraid" }).waitFor();
  const rows = await neighbourRows(p);
  assert.equal(rows.length, 8);
  const cos = rows.map((r) => {
    const m = r.match(/^([a-z -]+) (-?\d\.\d\d)$/);
    assert.ok(m, `not "name cosine": ${JSON.stringify(r)}`);
    assert.notEqual(m[1], "afraid");
    return Number(m[2]);
  });
  for (let i = 1; i < cos.length; i++) assert.ok(cos[i] <= cos[i - 1], `not sorted: ${cos}`);
  assert.ok(cos[0] > 0 && cos[0] < 1);
  // The choice is in the link, and the chosen point and its neighbours are labelled.
  await p.waitForFunction(() => location.search.includes("emotion=afraid"));
  assert.equal(await p.locator("[data-testid=map-scatter] .map-labels text.on").count(), 9);
  assert.equal(await p.locator("[data-testid=map-scatter] .map-dots .selected").count(), 1);
  // Keyboard: the arrow key moves the choice to the next emotion, same highlight.
  await p.keyboard.press("ArrowDown");
  const next = await p.getByTestId("map-emotion").inputValue();
  assert.notEqual(next, "afraid");
  await p.locator("#map-near-title", { hasText: `Nearest to ${next}` }).waitFor();
  // Hovering the point of "calm" shows calm's neighbours.
  const calm = p.locator("[data-testid=map-scatter] g.map-dots > *").filter({ has: p.locator("title", { hasText: /^calm\n/ }) });
  await calm.scrollIntoViewIfNeeded();
  const box = await calm.boundingBox();
  await p.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await p.locator("#map-near-title", { hasText: "Nearest to calm" }).waitFor();
  assert.equal((await neighbourRows(p)).length, 8);
  await clean(p);
  await p.close();
});

test("About shows the held-out accuracy, the Tylenol result and the differences from the paper, from report.json", async () => {
  const p = await open("view=about");
  await p.getByTestId("about-accuracy").waitFor({ timeout: 30_000 });
  const layer = report.default_layer;
  const pct = (v, d = 1) => `${(100 * v).toFixed(d)} %`;
  assert.equal(await p.getByTestId("about-top1").textContent(), pct(report.accuracy.top1[layer]));
  assert.equal(await p.getByTestId("about-top5").textContent(), pct(report.accuracy.top5[layer]));
  assert.match(await p.getByTestId("about-accuracy").textContent(), new RegExp(`among all ${Math.round(1 / report.accuracy.chance_top1)} emotions`));
  const tylenol = report.dose.find((d) => d.name === "tylenol");
  const rho = Math.abs(tylenol.spearman_afraid).toFixed(2);
  assert.ok((await p.getByTestId("about-tylenol").textContent()).includes(rho));
  await p.getByRole("heading", { name: "Differences from the paper" }).waitFor();
  // Where accuracy peaks is cross-validation's answer; the accuracy quoted is the test split's at
  // the readout's layer (never the best test layer); the per-token intensity's AUC is there.
  const diff = await p.locator(".differences").textContent();
  const cv = report.accuracy.cv_top1;
  assert.ok(diff.includes(`peaks at layer ${cv.indexOf(Math.max(...cv))} of`), diff);
  assert.ok(diff.includes(`first for ${pct(report.accuracy.test.fit.top1.mean, 0)}`), diff);
  assert.ok(diff.includes(`ROC curve of ${report.per_token.auc_intensity.toFixed(2)}`), diff);
  // The own word over other sentences like the paper's: counted among the differences, and per
  // emotion beside "How does he feel?" with its interval.
  const measured = report.steering.emotions;
  const raised = measured.filter((e) => e.p_feel_held_out.ratio >= 3).length;
  assert.ok(diff.includes(`at least threefold for ${raised} of ${measured.length}`), diff);
  const feel = await p.getByTestId("about-feel").textContent();
  for (const e of measured) {
    const h = e.p_feel_held_out;
    assert.ok(feel.includes(`×${h.ratio.toFixed(1)} (${h.low.toFixed(1)}–${h.high.toFixed(1)})`), `${e.emotion}: ${feel}`);
  }
  // What no fluent setting of the sweep does, said plainly: each emotion whose word none raises
  // threefold after the paper's sentence, and whether none makes sad's replies negative.
  const limits = await p.getByTestId("steer-limits").textContent();
  const l = report.steering.limits;
  for (const f of l.feel.filter((f) => f.up === 0)) assert.ok(limits.includes(`for ${f.emotion} (the most: ×${f.best.toFixed(1)} over ${f.fluent} fluent settings)`), limits);
  assert.equal(limits.includes("none makes sad's replies negative by VADER"), l.sad_vader !== null && l.sad_vader.best >= -0.05, limits);
  assert.ok(limits.startsWith(`Over all ${l.settings} settings`), limits);
  assert.ok(await p.getByTestId("va-correlations").isVisible());
  assert.equal(await p.locator(".about-chart svg").count(), 1);
  assert.equal(await p.locator('a[href="https://transformer-circuits.pub/2026/emotions/index.html"]').count() >= 1, true);
  // The report's own files are in the build and load from it.
  const href = await p.locator('a', { hasText: "report.json" }).getAttribute("href");
  const fetched = await p.evaluate(async (h) => (await fetch(h)).json(), href);
  assert.equal(fetched.default_layer, report.default_layer);
  await clean(p);
  await p.close();
});

test("the map follows the layer, and opens from the navigation once the model is loaded", async () => {
  const p = await open("");
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  await p.getByRole("link", { name: "Emotion map" }).click();
  await p.getByTestId("map-scatter").waitFor({ timeout: 60_000 });
  const at = async () => p.locator("[data-testid=map-scatter]").getAttribute("aria-label");
  assert.match(await at(), new RegExp(`at layer ${report.default_layer} `));
  await p.getByTestId("layer-select").selectOption("12");
  await p.waitForFunction(() => /at layer 12 /.test(document.querySelector("[data-testid=map-scatter]")?.getAttribute("aria-label") ?? ""), null, { timeout: 60_000 });
  assert.match(await p.getByTestId("map-heatmap").getAttribute("aria-label"), /at layer 12,/);
  assert.match(p.url(), /layer=12/);
  await p.getByTestId("map-emotion").selectOption("sad");
  await p.locator("#map-near-title", { hasText: "Nearest to sad" }).waitFor();
  assert.match(await p.locator(".map-near").textContent(), /at layer 12/);
  await clean(p);
  await p.close();
});
