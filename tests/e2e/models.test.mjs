// The model menu end to end (issue 16): the menu lists the models; a file too large for the tab
// is refused before it downloads, with its size; a GGUF the engine cannot read (an architecture
// it does not run), from this computer or by address, is named with the engine's reason and the
// page goes back to SmolLM2 and still writes; Gemma 3 270M (a base model: no chat template)
// loads on the CPU from the menu or from ?model=, continues plain text, and the Readout and Steer
// views say whether its emotion vectors are there (and how to make them when they are not).
// Gemma is 253 MB and a few tokens a second here: its replies are kept to a few tokens.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { useSite, recordingPage, cspViolations } from "./server.mjs";

const site = useSite();
let context;
let page;
const GEMMA_VECTORS = existsSync("data/vectors/gemma-3-270m.safetensors");

// One context, made by the first test (the site's hooks start the browser): its Cache API
// keeps the models between the pages of these tests.
let started = null;
const setUp = () => (started ??= (async () => {
  context = await site.browser.newContext();
  page = await measuredOpen("", "SmolLM2-135M-Instruct", 98_362_432);
})());

/** `open`, printing the peak growth of the browser's resident memory while the model loads
 * (a first visit: download, SHA-256, cache, engine) and the wasm memory after, against the
 * `file`'s size. Measured, not asserted (issue 16 asks for at most 1.3× the file). */
async function measuredOpen(query, name, file) {
  const before = treeRss();
  let peak = before;
  const sampler = setInterval(() => { peak = Math.max(peak, treeRss()); }, 100);
  const t0 = Date.now();
  const p = await open(query).finally(() => clearInterval(sampler));
  const wasm = await p.evaluate(() => window.limbic.wasmMemory());
  const x = (n) => `${(n / 1e6).toFixed(0)} MB (${(n / file).toFixed(2)}× the ${(file / 1e6).toFixed(1)} MB file)`;
  console.log(`${name}: loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s; the browser's resident memory grew by ${x(peak - before)} at its peak; wasm memory ${x(wasm)}`);
  return p;
}
after(() => context?.close());

/** A page of the shared context at `?query`, once its model is ready. */
async function open(query) {
  const p = await recordingPage(context);
  await p.goto(`${site.url}?${query}`);
  await ready(p);
  return p;
}
const ready = (p) => p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 300_000 });

/** Generates a reply of `max` tokens to `prompt` and returns its text. */
async function reply(p, prompt, max) {
  await p.fill("#max-tokens", String(max));
  await p.getByTestId("prompt-input").fill(prompt);
  await p.getByTestId("generate-button").click();
  await p.locator("#speed").filter({ hasText: `${max} tokens` }).waitFor({ timeout: 300_000 });
  await p.getByTestId("generate-button").and(p.locator(":enabled")).waitFor({ timeout: 60_000 });
  return p.getByTestId("output-text").textContent();
}

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's WCAG 2.1 A/AA violations on `p`, as "rule: targets" lines. */
async function axe(p) {
  await p.evaluate(AXE);
  return p.evaluate(() => window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
    .then((r) => r.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`)));
}

/** tests/fixtures/tiny_llama.gguf with general.architecture "mamba" (as long as "llama"). */
function mambaGguf() {
  const bytes = readFileSync("tests/fixtures/tiny_llama.gguf");
  const key = bytes.indexOf("general.architecture");
  // key, then its value's type (u32: 8, a string) and length (u64: 5), then the text.
  const at = key + "general.architecture".length + 4 + 8;
  assert.equal(bytes.subarray(at, at + 5).toString(), "llama");
  bytes.write("mamba", at);
  return bytes;
}

/** Resident memory (bytes) of this process's descendants: the browser and its children. */
function treeRss() {
  const kids = new Map();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(pid)]);
    } catch { /* gone */ }
  }
  let sum = 0;
  const walk = (pid) => {
    for (const k of kids.get(pid) ?? []) {
      try {
        sum += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${k}/status`, "utf8"))?.[1] ?? 0) * 1024;
      } catch { /* gone */ }
      walk(k);
    }
  };
  walk(process.pid);
  return sum;
}

test("the menu lists SmolLM2 (the default, running), Gemma 3 270M and another GGUF", async () => {
  await setUp();
  const options = await page.locator("#model-select option").allTextContents();
  assert.deepEqual(options.map((o) => o.split(" (")[0]), ["SmolLM2-135M-Instruct", "Gemma 3 270M", "another GGUF…"]);
  assert.match(options[1], /base model: plain text, no chat; ~250 MB/);
  assert.equal(await page.getByTestId("model-select").inputValue(), "smollm2-135m-instruct");
  assert.match(await page.locator("#size-note").textContent(), /^The model is a ~100 MB download \(98\.4 MB\)/);
  // The form for another GGUF opens from the menu, with labelled fields.
  await page.getByTestId("model-select").selectOption("other");
  await page.getByLabel("address", { exact: false }).first().waitFor();
  assert.equal(await page.locator("#model-other").isVisible(), true);
  assert.deepEqual(await axe(page), []);
});

test("on a phone the menu and the form for another GGUF fit the screen, with touch-sized controls", async () => {
  await setUp();
  const phone = await site.browser.newContext({ viewport: { width: 375, height: 740 }, hasTouch: true });
  const p = await phone.newPage();
  await p.goto(site.url);
  await p.getByTestId("model-select").selectOption("other");
  const m = await p.evaluate(() => ({
    width: document.documentElement.scrollWidth,
    small: [...document.querySelectorAll("#model-select, #model-other input, #model-other button")].map((el) => el.getBoundingClientRect())
      .filter((b) => b.height < 44).length,
  }));
  assert.ok(m.width <= 375, `the page is ${m.width} px wide`);
  assert.equal(m.small, 0, "controls under 44 px tall");
  await phone.close();
});

test("a file too large for the tab is refused before it downloads, with its size; SmolLM2 keeps running", async () => {
  await setUp();
  let gets = 0;
  await context.route("**/models/huge.gguf", (route) => {
    if (route.request().method() !== "HEAD") gets += 1;
    return route.fulfill({ status: 200, headers: { "content-length": "5000000000", "content-type": "application/octet-stream" }, body: "" });
  });
  await page.getByTestId("model-select").selectOption("other");
  await page.getByTestId("model-url").fill("models/huge.gguf");
  await page.getByTestId("model-load").click();
  const note = page.getByTestId("model-note");
  await note.filter({ hasText: "too large" }).waitFor({ timeout: 30_000 });
  assert.equal(await note.textContent(),
    "huge.gguf is 5.00 GB: too large for this tab. While it loads, the engine needs about twice the file (10.00 GB) in WebAssembly memory, which holds 4 GiB at most: files up to 2.01 GB load here. Still running: SmolLM2-135M-Instruct.");
  assert.equal(gets, 0, "the file was requested, not just its size");
  assert.equal(await page.getByTestId("model-select").inputValue(), "smollm2-135m-instruct");
  assert.match(await page.getByTestId("model-status").textContent(), /^SmolLM2-135M-Instruct ready/);
  assert.ok((await reply(page, "Name a colour.", 3)).trim().length > 0);
  await context.unroute("**/models/huge.gguf");
});

test("a GGUF from this computer with an architecture the engine does not run: the engine's reason, then back to SmolLM2", async () => {
  await setUp();
  await page.getByTestId("model-select").selectOption("other");
  await page.getByTestId("model-file").setInputFiles({ name: "mamba-tiny.gguf", mimeType: "application/octet-stream", buffer: mambaGguf() });
  await page.getByTestId("model-load").click();
  const note = page.getByTestId("model-note");
  await note.filter({ hasText: "Could not load" }).waitFor({ timeout: 60_000 });
  assert.match(await note.textContent(), /^Could not load mamba-tiny\.gguf: .*architecture is "mamba", not supported yet .*\. Back to SmolLM2-135M-Instruct\.$/);
  await page.getByTestId("model-status").filter({ hasText: "SmolLM2-135M-Instruct ready" }).waitFor({ timeout: 120_000 });
  assert.equal(await page.getByTestId("model-select").inputValue(), "smollm2-135m-instruct");
  assert.match(await page.getByTestId("model-status").textContent(), /171 emotions/);
  assert.ok((await reply(page, "Name a fruit.", 3)).trim().length > 0);
  assert.deepEqual(page.errors, []);
  assert.deepEqual(await cspViolations(page), []);
});

test("?model= with the address of a GGUF the engine cannot read: the same message, and SmolLM2 runs", async () => {
  await setUp();
  const bytes = mambaGguf();
  await context.route("**/models/mamba-tiny.gguf", (route) => route.fulfill({ status: 200, contentType: "application/octet-stream", body: bytes }));
  const p = await recordingPage(context);
  await p.goto(`${site.url}?model=models/mamba-tiny.gguf`);
  await p.getByTestId("model-note").filter({ hasText: "Could not load" }).waitFor({ timeout: 60_000 });
  assert.match(await p.getByTestId("model-note").textContent(), /^Could not load mamba-tiny\.gguf: .*architecture is "mamba", not supported yet.*Back to SmolLM2-135M-Instruct\.$/);
  await ready(p);
  assert.doesNotMatch(p.url(), /model=/);
  await p.close();
  await context.unroute("**/models/mamba-tiny.gguf");
});

test("vectors that are not this model's: the model still runs, and the page says why there is no readout", async () => {
  await setUp();
  // The model's load alone (no vectors in the engine), from the cache: its wasm memory printed.
  const p = await measuredOpen("vectors=data/vectors/extract_report.json", "SmolLM2-135M-Instruct without vectors", 98_362_432);
  assert.match(await p.getByTestId("model-status").textContent(), /^SmolLM2-135M-Instruct ready \(30 layers, d = 576, no emotion vectors\)$/);
  assert.match(await p.getByTestId("vectors-note").textContent(), /^No emotion vectors for SmolLM2-135M-Instruct \(the vectors file does not fit this model: .+\): replies are plain text, without a readout/);
  assert.equal(await p.getByTestId("chat-note").textContent(), "");
  assert.ok((await reply(p, "Hello!", 3)).trim().length > 0);
  assert.match(p.url(), /[?&]vectors=data%2Fvectors%2Fextract_report\.json(&|$)/);
  await p.close();
});

test("?model=gemma-3-270m opens with Gemma 3 270M on the CPU: plain text, and the views say what it lacks", async () => {
  await setUp();
  const p = await measuredOpen("model=gemma-3-270m", "Gemma 3 270M", 253_113_024);
  assert.equal(await p.getByTestId("model-select").inputValue(), "gemma-3-270m");
  assert.match(await p.getByTestId("model-status").textContent(), /^Gemma 3 270M ready \(18 layers, d = 640, .*no chat template\)$/);
  assert.match(await p.getByTestId("backend-badge").textContent(), /CPU/);
  assert.match(await p.locator("#model-name").textContent(), /Gemma 3 270M/);
  assert.match(await p.locator("#model-credit").textContent(), /Gemma Terms of Use/);
  assert.match(await p.getByTestId("chat-note").textContent(), /Gemma 3 270M has no chat template: chat is off/);
  const text = await reply(p, "The capital of France is", 4);
  assert.ok(text.trim().length > 0, `no text: ${JSON.stringify(text)}`);
  // Plain text: the prompt is not wrapped in a chat template; its BOS shows with the template only.
  assert.doesNotMatch(await p.locator(".bubble.user").textContent(), /<start_of_turn>|<\|im_start\|>/);
  assert.equal(await p.locator(".bubble.user .tokens").innerText(), "The capital of France is");
  assert.match(await p.locator(".bubble.user .tokens .tok.template").first().textContent(), /^<bos>$/);
  if (GEMMA_VECTORS) {
    assert.match(await p.getByTestId("model-status").textContent(), /\d+ emotions/);
    assert.equal(await p.getByTestId("vectors-note").textContent(), "");
  } else {
    const note = await p.getByTestId("vectors-note").textContent();
    assert.match(note, /^No emotion vectors for Gemma 3 270M \(no file at http:\/\/127\.0\.0\.1:\d+\/data\/vectors\/gemma-3-270m\.safetensors\): replies are plain text, without a readout\. To make them, run limbic extract/);
    assert.equal(await p.getByTestId("extract-command").textContent(), "limbic extract --model models/gemma-3-270m.Q4_K_M.gguf --out data/vectors/gemma-3-270m.safetensors");
    await p.getByRole("link", { name: "Steer" }).click();
    await p.getByTestId("vectors-note").filter({ hasText: "nothing to steer with" }).waitFor();
    assert.equal(await p.locator("fieldset.steers").evaluate((f) => f.disabled), true);
    assert.equal(await p.getByTestId("steer-emotion").isDisabled(), true);
    await p.getByRole("link", { name: "Emotion map" }).click();
    await p.getByTestId("vectors-note").filter({ hasText: "the Emotion map view works on them" }).waitFor();
  }
  assert.deepEqual(await axe(p), []);
  // Links carry the model.
  await p.getByTestId("copy-link").click();
  assert.match(await p.locator("#share-url").inputValue(), /[?&]model=gemma-3-270m(&|$)/);
  assert.deepEqual(p.errors, []);
  await p.close();
});

test("Gemma 3 270M from the menu (kept in the cache now), then back to SmolLM2", async () => {
  await setUp();
  await page.getByRole("link", { name: "Readout" }).click();
  await page.getByTestId("model-select").selectOption("gemma-3-270m");
  await page.getByTestId("model-status").filter({ hasText: "Gemma 3 270M ready" }).waitFor({ timeout: 300_000 });
  assert.match(page.url(), /[?&]model=gemma-3-270m(&|$)/);
  assert.match(await page.locator(".bubble.model h3").textContent(), /Gemma 3/);
  assert.ok((await reply(page, "Once upon a time", 3)).trim().length > 0);
  await page.getByTestId("model-select").selectOption("smollm2-135m-instruct");
  await page.getByTestId("model-status").filter({ hasText: "SmolLM2-135M-Instruct ready" }).waitFor({ timeout: 120_000 });
  assert.doesNotMatch(page.url(), /model=/);
  assert.equal(await page.getByTestId("chat-note").textContent(), "");
  assert.deepEqual(page.errors, []);
});
