// The Experiments view end to end in Debian's Chromium: Dose reads afraid and calm at the
// assistant's first token for every dose (as `limbic probe` reads the same prompts), steering
// raises p(" sad") from the unsteered value the validation measured, Preferences gives P(A) in [0, 1] for every pair, the Monitor's alarm fires under a
// low threshold, Stop ends an experiment, and nothing leaks from one run into the next.
// LIMBIC_SCREENSHOTS=1 also saves docs/screenshots/experiments.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, launch, freePort, recordingPage } from "./server.mjs";

const PORT = await freePort();
let server, browser, page;

before(async () => {
  server = await startServer(PORT);
  browser = await launch(["--disable-gpu"]);
  page = await recordingPage(browser, { viewport: { width: 1280, height: 900 } });
  await page.goto(`http://127.0.0.1:${PORT}/?view=experiments`);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

// Runs experiment `id` from the keyboard and waits for its status to say it is done.
async function run(id) {
  await page.getByTestId(`${id}-run`).and(page.locator(":enabled")).waitFor({ timeout: 60_000 });
  await page.getByTestId(`${id}-run`).focus();
  await page.keyboard.press("Enter");
  await page.locator(`#${id}-status`, { hasText: /^(done|error)/ }).waitFor({ timeout: 180_000 });
  assert.match(await page.locator(`#${id}-status`).textContent(), /^done/);
}

// The table's body as rows of cell texts.
const rows = (id) => page.locator(`#${id}-table tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
const num = (s) => Number(s.replace("−", "-"));

let firstDose;

/** afraid and calm at the last prompt token of each chat prompt, read by the native CLI. */
function cliScores(prompts) {
  const dir = mkdtempSync(join(tmpdir(), "limbic-dose-"));
  const input = join(dir, "in.jsonl");
  writeFileSync(input, prompts.map((text, i) => JSON.stringify({ id: String(i), text })).join("\n") + "\n");
  const bin = join(process.env.CARGO_TARGET_DIR ?? "target", "release", "limbic");
  const out = execFileSync(bin, ["probe", "--chat", "--input", input], { encoding: "utf8" });
  return out.trim().split("\n").map((l) => JSON.parse(l).last);
}

test("Dose: six points per line, afraid and calm for every dose, as the native engine reads them", async () => {
  await run("dose");
  for (const name of ["afraid", "calm"]) {
    assert.equal(await page.locator(`#dose-chart g[aria-description="${name}"] > *`).count(), 6, `${name} points`);
  }
  const table = await rows("dose");
  assert.equal(table.length, 6);
  const header = await page.locator("#dose-table thead th").allTextContents();
  assert.deepEqual(header, ["dose", "prompt", "afraid", "calm"]);
  const report = JSON.parse(readFileSync("docs/validation/report.json", "utf8")).dose.find((d) => d.name === "tylenol");
  // The report averages ten paraphrases; the page runs the first. The native CLI reads the
  // page's prompts at the same (default) layer: the browser's engine must agree with it.
  const native = cliScores(table.map((r) => r[1]));
  table.forEach((r, i) => {
    assert.match(r[0], new RegExp(`^${report.x[i].toLocaleString("en-US")} mg`));
    assert.equal(r[1], report.templates[0].replace("{X}", String(report.x[i])));
    assert.match(r[2], /^−?\d+\.\d\d$/);
    assert.match(r[3], /^−?\d+\.\d\d$/);
    // Within 1.0, as before: the page's and the CLI's readings differ by up to ~0.3 (seen here);
    // why they are not closer is an open question (noted in the session note).
    assert.ok(Math.abs(num(r[2]) - native[i].afraid) < 1.0, `afraid at ${r[0]}: ${r[2]} vs ${native[i].afraid}`);
    assert.ok(Math.abs(num(r[3]) - native[i].calm) < 1.0, `calm at ${r[0]}: ${r[3]} vs ${native[i].calm}`);
  });
  assert.match(await page.locator("#dose-rho").textContent(), /dose vs afraid [+−]\d\.\d\d, dose vs calm [+−]\d\.\d\d/);
  // The slider picks a dose by keyboard: it is ringed in the chart and marked in the table.
  await page.getByTestId("dose-slider").focus();
  await page.keyboard.press("Home");
  await page.keyboard.press("ArrowRight");
  assert.match(await page.locator("#dose-table tr.selected").textContent(), /^1,000 mg ◀/);
  assert.match(await page.locator("#dose-selected").textContent(), /^1,000 mg: afraid [+−]\d+\.\d\d, calm [+−]\d+\.\d\d$/);
  assert.equal(await page.locator('#dose-chart g[aria-description="selected dose"] circle').count(), 2);
  firstDose = table;
  if (process.env.LIMBIC_SCREENSHOTS) {
    await page.locator("#dose").evaluate((e) => e.scrollIntoView());
    await page.evaluate(() => window.scrollBy(0, -8));
    await page.screenshot({ path: "docs/screenshots/experiments.png" });
  }
});

test("How does he feel?: p(\" sad\") as the report has it unsteered; the report's strongest emotion rises with its steering", async () => {
  assert.equal(await page.getByTestId("feel-emotion").inputValue(), "sad");
  await run("feel");
  const table = await rows("feel");
  assert.deepEqual(table.map((r) => r[0]), ["0", "0.1", "0.2", "0.3"]);
  assert.equal((await page.locator("#feel-table thead th").allTextContents())[1], 'p(" sad")');
  // Unsteered, the page reads the validation's quantity (same prompt, same words) with the
  // same arithmetic as the native engine that wrote the report (tests/wasm.rs holds the two to
  // the same bits), so the table shows the report's number to its four decimals. Whether
  // steering raises it is a finding of the report (section 5: for sad it barely does).
  const feel = JSON.parse(readFileSync("docs/validation/report.json", "utf8")).steering.feel;
  const sad = feel.find((f) => f.emotion === "sad");
  assert.equal(table[0][1], sad.p[0].toFixed(4), `p(" sad") unsteered vs the report's ${sad.p[0]}`);
  assert.equal(await page.locator('#feel-chart g[aria-description=" sad"] > *').count(), 4);
  // The emotion whose own word the report's steering raised most rises here too.
  const best = feel.reduce((a, b) => (b.p[1] / b.p[0] > a.p[1] / a.p[0] ? b : a));
  await page.getByTestId("feel-emotion").selectOption(best.emotion);
  await run("feel");
  const steered = await rows("feel");
  const [q0, q3] = [num(steered[0][1]), num(steered[3][1])];
  assert.ok(q3 > q0, `p(" ${best.emotion}") ${q0} at 0, ${q3} at 0.3`);
  await page.getByTestId("feel-emotion").selectOption("sad");
});

test("Preferences: P(A) in [0, 1] for every pair, with and without steering", async () => {
  await run("pref");
  const table = await rows("pref");
  assert.equal(table.length, 5);
  for (const r of table) {
    for (const c of [r[3], r[4]]) {
      const v = num(c);
      assert.ok(v >= 0 && v <= 1, `P(A) ${c}`);
    }
  }
  assert.equal(await page.locator('#pref-chart [aria-label^="pair "]').count(), 10);
});

test("Monitor: a very low threshold fires the alarm and marks the tokens", async () => {
  await page.fill("#monitor-max", "6");
  await page.getByTestId("monitor-threshold").focus();
  await page.keyboard.press("Home");
  assert.equal(await page.getByTestId("monitor-threshold").inputValue(), "-60");
  await run("monitor");
  assert.match(await page.getByTestId("monitor-alert").textContent(), /^Alarm: desperate reached −?\d+\.\d\d \(threshold −60\.0\) at reply token 0, /);
  assert.equal(await page.getByTestId("monitor-alert").getAttribute("aria-live"), "polite");
  assert.equal(await page.locator("#monitor-reply mark").count(), (await rows("monitor")).length);
  // Raised above every score, the same reply raises no alarm and marks nothing.
  await page.getByTestId("monitor-threshold").press("End");
  assert.match(await page.getByTestId("monitor-alert").textContent(), /^No alarm: desperate stayed under 60\.0/);
  assert.equal(await page.locator("#monitor-reply mark").count(), 0);
});

test("Stop ends an experiment early; no steering leaks into the next run", async () => {
  await page.getByTestId("pref-run").click();
  await page.locator("#pref-table tbody tr").first().waitFor({ timeout: 60_000 });
  await page.getByTestId("pref-stop").click();
  await page.locator("#pref-status", { hasText: "stopped" }).waitFor({ timeout: 60_000 });
  assert.ok((await rows("pref")).length < 5);
  // The stopped run was steering toward happy; Dose runs unsteered and gives the same numbers.
  await run("dose");
  assert.deepEqual(await rows("dose"), firstDose);
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
});
