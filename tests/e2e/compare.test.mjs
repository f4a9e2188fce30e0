// The Compare view (?view=compare): SmolLM2-135M-Instruct and Gemma 3 270M loaded side by side,
// each in its own engine worker; one prompt gives two replies, SmolLM2's coloured by its readout
// and Gemma's saying its vectors are missing (or coloured, once they exist); the validation
// summaries show SmolLM2's numbers from docs/validation/report.json; each side states its
// model's size; temperature and seed reach both sides (the same seed gives the same reply) and
// links carry them; axe finds nothing; Stop stops both; on a 375 px phone the two columns stack;
// a side whose file the server says is too large refuses it without starting an engine.
// Saves docs/screenshots/compare.png.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { useSite, recordingPage, cspViolations } from "./server.mjs";

const site = useSite();
const GEMMA_VECTORS = existsSync("data/vectors/gemma-3-270m.safetensors");
const GEMMA_REPORT = existsSync("docs/validation/gemma-3-270m/report.json");
const REPORT = JSON.parse(readFileSync("docs/validation/report.json", "utf8"));
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's WCAG 2.1 A/AA violations on `p`, as "rule: targets" lines. */
async function axe(p) {
  await p.evaluate(AXE);
  return p.evaluate(() => window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
    .then((r) => r.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`)));
}

let context;
after(() => context?.close());

const pct = (x) => `${(100 * x).toFixed(1)} %`;
const interval = (i) => `${pct(i.mean)} (${(100 * i.lo).toFixed(1)}–${pct(i.hi)})`;

/** The background colours given to side `s`'s reply tokens that are not transparent (the
 * element's own style: the computed one fades in with a transition). */
const coloured = (s) => s.locator("[data-testid=side-reply] .tok").evaluateAll((els) =>
  els.map((e) => e.style.backgroundColor).filter((c) => c && c !== "rgba(0, 0, 0, 0)" && c !== "transparent"));

test("?view=compare: two models, two engines, one prompt, two replies, the validation side by side; Stop stops both", async () => {
  context = await site.browser.newContext();
  const p = await recordingPage(context);
  const t0 = Date.now();
  await p.goto(`${site.url}?view=compare&temperature=0&seed=1&backend=cpu`);
  const a = p.getByTestId("compare-side-a");
  const b = p.getByTestId("compare-side-b");
  await a.getByTestId("side-status").filter({ hasText: "ready" }).waitFor({ timeout: 300_000 });
  await b.getByTestId("side-status").filter({ hasText: "ready" }).waitFor({ timeout: 300_000 });
  console.log(`both models ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(await p.title(), "limbic — Compare models");
  assert.equal(await p.getByRole("link", { name: "Compare models" }).getAttribute("aria-current"), "page");
  assert.match(await a.locator("h3").textContent(), /^A: SmolLM2-135M-Instruct$/);
  assert.match(await b.locator("h3").textContent(), /^B: Gemma 3 270M$/);
  assert.match(await a.getByTestId("side-status").textContent(), /^SmolLM2-135M-Instruct ready \(CPU, 30 layers, \d+ emotions, readout layer \d+\)$/);
  assert.match(await b.getByTestId("side-status").textContent(), /^Gemma 3 270M ready \(CPU, 18 layers, .*plain text\)$/);
  // Two engine workers of their own; the page's model waits for another view.
  assert.match(await p.getByTestId("model-status").textContent(), /^not loaded: this view runs its own models/);
  assert.equal(await a.getByTestId("chat-note").textContent(), "");
  assert.match(await b.getByTestId("chat-note").textContent(), /Gemma 3 270M has no chat template: chat is off/);
  if (GEMMA_VECTORS) {
    assert.equal(await b.getByTestId("vectors-note").textContent(), "");
  } else {
    assert.match(await b.getByTestId("vectors-note").textContent(), /^No emotion vectors for Gemma 3 270M \(no file at .*gemma-3-270m\.safetensors\): readout and steering are off on this side\. To make them, run limbic extract/);
    assert.equal(await b.getByTestId("extract-command").textContent(), "limbic extract --model models/gemma-3-270m.Q4_K_M.gguf --out data/vectors/gemma-3-270m.safetensors");
  }
  assert.equal(await a.getByTestId("vectors-note").textContent(), "");
  // Each side said its model's size before it downloaded (the menu's sentence).
  for (const s of [a, b]) assert.match(await s.getByTestId("side-size").textContent(), /^The model is a ~\d+ MB download \(\d+\.\d MB\), once \(this browser keeps it\), and uses about \d+ MB of memory while it runs\.$/);

  // The validation summaries: SmolLM2's numbers from its report.json; Gemma's, or none yet.
  const rows = await a.locator("[data-testid=side-validation] tr").evaluateAll((trs) => trs.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
  const want = new Map(rows);
  assert.equal(want.get("readout layer"), String(REPORT.default_layer));
  assert.equal(want.get("test top-1 (95 % interval)"), interval(REPORT.accuracy.test.fit.top1));
  assert.equal(want.get("test top-5 (95 % interval)"), interval(REPORT.accuracy.test.fit.top5));
  const best = (rs) => Math.max(...rs.map(Math.abs)).toFixed(2);
  assert.equal(want.get("valence |r| (best PC)"), best(REPORT.geometry.correlations.pc_valence_r));
  assert.equal(want.get("arousal |r| (best PC)"), best(REPORT.geometry.correlations.pc_arousal_r));
  assert.equal(want.get("intensity AUC (emotional vs neutral tokens)"), REPORT.per_token.auc_intensity.toFixed(3));
  if (GEMMA_REPORT) assert.equal(await b.locator("[data-testid=side-validation] tr").count(), 6);
  else assert.equal(await b.getByTestId("no-report").textContent(), "No validation report for this model yet.");

  // One prompt, one steer, two replies of 4 tokens, generated at the same time.
  await p.getByTestId("max-tokens").fill("4");
  await p.getByTestId("prompt-input").fill("The weather today is");
  await p.getByTestId("steer-emotion").selectOption("calm");
  await p.getByTestId("generate-button").click();
  for (const s of [a, b]) await s.getByTestId("side-speed").filter({ hasText: /^4 tokens, .* tokens\/s/ }).waitFor({ timeout: 300_000 });
  await p.getByTestId("generate-button").and(p.locator(":enabled")).waitFor({ timeout: 60_000 });
  assert.equal(await a.locator("[data-testid=side-reply] .tok").count(), 4);
  assert.equal(await b.locator("[data-testid=side-reply] .tok").count(), 4);
  for (const s of [a, b]) assert.ok((await s.getByTestId("side-reply").textContent()).trim().length > 0);
  assert.match(await a.getByTestId("side-steer").textContent(), /^Steered: calm 0\.15\.$/);
  // Each token carries its readout; coloured by one emotion, every token of A has a colour (by
  // top emotion, tokens that read like neutral text stay uncoloured, so 4 tokens may show none).
  assert.match(await a.locator("[data-testid=side-reply] .tok").first().getAttribute("title"), /^\S+ -?\d+\.\d\d, /);
  await p.getByTestId("colour-emotion").selectOption("calm");
  assert.equal((await coloured(a)).length, 4, "SmolLM2's reply has readout colours");
  assert.match(await a.locator(".legend").textContent(), /calm/);
  if (GEMMA_VECTORS) {
    assert.match(await b.getByTestId("side-steer").textContent(), /Steered: calm|Not steered: its vectors have no calm/);
  } else {
    assert.equal(await b.getByTestId("side-steer").textContent(), "Not steered: no emotion vectors.");
    assert.deepEqual(await coloured(b), [], "Gemma's reply has no readout colours without vectors");
    assert.equal(await b.locator("[data-testid=side-reply] .tok").first().getAttribute("title"), "no readout");
  }
  assert.match(await p.getByTestId("compare-announce").textContent(), /^Both replies ended\. SmolLM2: .+ Gemma 3: /);

  // Links carry the view, its models (when not the defaults) and the steer.
  await p.getByTestId("copy-link").click();
  const link = new URL(await p.locator("#share-url").inputValue());
  assert.equal(link.searchParams.get("view"), "compare");
  assert.equal(link.searchParams.get("steer"), "calm:0.15");

  // Keyboard: the first reply token of A takes focus, arrows move, its readout is named.
  await a.locator("[data-testid=side-reply] .tok").first().focus();
  await p.keyboard.press("ArrowRight");
  assert.match(await a.getByTestId("side-token").textContent(), /^".*": \S+ -?\d+\.\d\d, /);
  assert.equal(await a.locator("[data-testid=side-reply] .tok").nth(1).evaluate((e) => e === document.activeElement), true);

  assert.deepEqual(await axe(p), []);
  mkdirSync("docs/screenshots", { recursive: true });
  await p.screenshot({ path: "docs/screenshots/compare.png", fullPage: true });

  // Temperature and seed: clamped like Readout's, stored (the address bar, a link), and given
  // to both sides: at temperature 0.8 the same seed gives each side the same reply again.
  await p.getByTestId("temperature").fill("5");
  await p.getByTestId("temperature").press("Tab");
  assert.equal(await p.getByTestId("temperature").inputValue(), "2");
  await p.getByTestId("temperature").fill("0.8");
  await p.getByTestId("seed").fill("7");
  await p.getByTestId("seed").press("Tab");
  await p.waitForFunction(() => new URLSearchParams(location.search).get("seed") === "7");
  assert.equal(new URL(p.url()).searchParams.get("temperature"), "0.8");
  await p.getByTestId("copy-link").click();
  const sampled = new URL(await p.locator("#share-url").inputValue());
  assert.deepEqual([sampled.searchParams.get("temperature"), sampled.searchParams.get("seed")], ["0.8", "7"]);
  /** Both sides' replies to one run of 4 tokens with the settings shown. */
  const replies = async () => {
    await p.getByTestId("generate-button").click();
    for (const s of [a, b]) await s.getByTestId("side-speed").filter({ hasText: /^4 tokens, / }).waitFor({ timeout: 300_000 });
    await p.getByTestId("generate-button").and(p.locator(":enabled")).waitFor({ timeout: 60_000 });
    return Promise.all([a, b].map((s) => s.getByTestId("side-reply").textContent()));
  };
  const first = await replies();
  assert.deepEqual(await replies(), first, "the same seed at temperature 0.8 gives the same replies");
  await p.getByTestId("seed").fill("8");
  console.log(`seed 7: ${JSON.stringify(first)}; seed 8: ${JSON.stringify(await replies())}`);
  assert.equal(new URL(p.url()).searchParams.get("seed"), "8");

  // Stop stops both: a long reply, stopped once each side has written a token.
  await p.getByTestId("steer-emotion").selectOption("");
  await p.getByTestId("max-tokens").fill("1024");
  await p.getByTestId("prompt-input").fill("Write a long story about a dragon who lives in a castle by the sea.");
  await p.getByTestId("generate-button").click();
  for (const s of [a, b]) await s.locator("[data-testid=side-reply] .tok").first().waitFor({ state: "attached", timeout: 300_000 });
  await p.getByTestId("stop-button").click();
  for (const s of [a, b]) await s.getByTestId("side-speed").filter({ hasText: "(stopped)" }).waitFor({ timeout: 60_000 });
  await p.getByTestId("generate-button").and(p.locator(":enabled")).waitFor({ timeout: 60_000 });
  for (const s of [a, b]) assert.ok(await s.locator("[data-testid=side-reply] .tok").count() < 1024);

  // Another view: the two engines go, the page's own model loads.
  await p.getByRole("link", { name: "Readout" }).click();
  await p.getByTestId("model-status").filter({ hasText: "SmolLM2-135M-Instruct ready" }).waitFor({ timeout: 300_000 });
  assert.equal(await p.getByTestId("compare-side-a").count(), 0);

  assert.deepEqual(p.errors, []);
  assert.deepEqual(await cspViolations(p), []);
  await p.close();
});

test("on a 375 px phone the two columns stack, nothing scrolls sideways, controls are touch-sized", async () => {
  const phone = await site.browser.newContext({ viewport: { width: 375, height: 740 }, hasTouch: true });
  const p = await recordingPage(phone);
  // Models swapped and a steer, by link.
  await p.goto(`${site.url}?view=compare&a=gemma-3-270m&b=smollm2-135m-instruct&steer=sad:0.2&backend=cpu`);
  const a = p.getByTestId("compare-side-a");
  const b = p.getByTestId("compare-side-b");
  for (const s of [a, b]) await s.getByTestId("side-status").filter({ hasText: "ready" }).waitFor({ timeout: 300_000 });
  assert.match(await a.locator("h3").textContent(), /^A: Gemma 3 270M$/);
  assert.match(await b.locator("h3").textContent(), /^B: SmolLM2-135M-Instruct$/);
  assert.equal(await p.getByTestId("steer-emotion").inputValue(), "sad");
  assert.equal(await p.getByTestId("steer-strength").inputValue(), "0.2");
  await b.getByTestId("side-validation").locator("h4").waitFor();
  const [ba, bb] = [await a.boundingBox(), await b.boundingBox()];
  assert.ok(bb.y >= ba.y + ba.height, `B (${JSON.stringify(bb)}) is below A (${JSON.stringify(ba)})`);
  const wide = await p.evaluate(() => [
    ...(document.documentElement.scrollWidth > innerWidth ? [`page ${document.documentElement.scrollWidth} px`] : []),
    ...[...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5 || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible")
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)} ${e.scrollWidth}/${e.clientWidth}`).slice(0, 12),
  ]);
  assert.deepEqual(wide, [], "no sideways scrolling at 375 px");
  // Touch targets of at least 44 × 44 px, as tests/e2e/phone.test.mjs asks of the other views.
  const small = await p.evaluate(() => [...document.querySelectorAll("#view button, #view select, #view input[type=range], #view input[type=number]")]
    .map((el) => [el, el.getBoundingClientRect()]).filter(([, r]) => r.width > 0 && (r.width < 44 || r.height < 44))
    .map(([el, r]) => `${el.tagName.toLowerCase()}#${el.id} ${Math.round(r.width)}×${Math.round(r.height)}`));
  assert.deepEqual(small, [], "touch targets under 44 px");
  mkdirSync("docs/screenshots", { recursive: true });
  await p.screenshot({ path: "docs/screenshots/phone-compare.png" });
  assert.deepEqual(p.errors, []);
  await phone.close();
});

test("a side whose file the server says is too large refuses it before it downloads, with its size; the other side loads", async () => {
  const ctx = await site.browser.newContext();
  let gets = 0;
  await ctx.route("**/models/huge.gguf", (route) => {
    if (route.request().method() !== "HEAD") gets += 1;
    return route.fulfill({ status: 200, headers: { "content-length": "5000000000", "content-type": "application/octet-stream" }, body: "" });
  });
  const p = await recordingPage(ctx);
  await p.goto(`${site.url}?view=compare&a=models/huge.gguf&b=smollm2-135m-instruct&backend=cpu`);
  const a = p.getByTestId("compare-side-a");
  const b = p.getByTestId("compare-side-b");
  await a.getByTestId("side-status").filter({ hasText: "too large" }).waitFor({ timeout: 30_000 });
  assert.match(await a.locator("h3").textContent(), /^A: huge\.gguf$/);
  assert.equal(await a.getByTestId("side-status").textContent(),
    "huge.gguf is 5.00 GB: too large for this tab. While it loads, the engine needs about twice the file (10.00 GB) in WebAssembly memory, which holds 4 GiB at most: files up to 2.01 GB load here.");
  assert.match(await a.getByTestId("side-size").textContent(), /^huge\.gguf is a ~5\.0 GB download \(5\.00 GB\), kept in this browser under its address/);
  assert.equal(await a.locator("progress").isVisible(), false);
  assert.match(await b.getByTestId("side-size").textContent(), /^The model is a ~\d+ MB download/);
  await b.getByTestId("side-status").filter({ hasText: "ready" }).waitFor({ timeout: 300_000 });
  assert.equal(gets, 0, "the file was requested, not just its size");
  assert.match(await a.getByTestId("side-status").textContent(), /too large for this tab/);
  assert.deepEqual(p.errors, []);
  await ctx.close();
});
