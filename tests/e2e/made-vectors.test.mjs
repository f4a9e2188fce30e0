// Made vectors beyond the Make view (issue 17): a made vector's readout trajectory on the prompt
// and replies; the vector as a Steer row, whose link and embed carry it and reproduce the same
// steered reply in a fresh browser profile; llama.cpp control vectors imported by file picker
// and by drag and drop (cvector-generator's and repeng's layouts), a file for another model
// refused with its reason, and the page's own GGUF export imported back steering exactly as the
// made vector did; Monitor and Dose reading a made vector.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PIRATE_TEXTS, useSite, recordingPage } from "./server.mjs";

const site = useSite();
const TEXTS = PIRATE_TEXTS;
const PROMPT = "Tell me about your weekend.";
const QUERY = `prompt=${encodeURIComponent(PROMPT)}&max=16&temperature=0&seed=42`;

async function ready(p) {
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
}
async function finished(p) {
  await p.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 120_000 });
  await p.getByTestId("generate-button").and(p.locator(":enabled")).waitFor({ timeout: 120_000 });
}
async function generate(p) {
  await p.locator("#speed").evaluate((e) => { e.textContent = ""; });
  await p.getByTestId("generate-button").click();
  await finished(p);
}
async function makePirate(p) {
  await p.fill("#make-name", "pirate talk");
  await p.getByTestId("make-texts").fill(TEXTS.join("\n"));
  await p.getByTestId("make-button").click();
  await p.locator("#make-status").filter({ hasText: /^Made / }).waitFor({ timeout: 180_000 });
}
/** The status line once it has settled on `re`. */
async function status(p, re) {
  await p.locator("#make-status").filter({ hasText: re }).waitFor({ timeout: 60_000 });
  return p.locator("#make-status").textContent();
}
const mean = (re, text) => Number(re.exec(text)[1].replace("−", "-"));

test("trajectory; a Steer row; the Steer view's link and embed carry the vector and reproduce the reply", async () => {
  const p = await recordingPage(site.browser);
  await p.goto(`${site.url}?view=make&${QUERY}`);
  await ready(p);
  await makePirate(p);
  // At once: its score over the prompt's tokens (one prompt pass).
  const first = p.locator("#make-trajectory-note").filter({ hasText: /over the prompt's/ });
  await first.waitFor({ timeout: 60_000 });
  assert.match(await first.textContent(), /^pirate talk read out at layer \d+ over the prompt's \d+ tokens: mean −?\d+\.\d\d\. \(Token 0, the attention sink, is left out\.\) Generate to see it over the replies\.$/);
  assert.equal(await p.locator('#make-trajectory g[aria-description="prompt"] path').count(), 1);
  await p.getByTestId("make-steer").fill("0.4");
  await generate(p);
  const steered = await p.getByTestId("make-output").textContent();
  assert.notEqual(steered, await p.getByTestId("make-baseline").textContent());

  // The readout trajectory: a line per reply over the prompt's and the reply's tokens.
  await p.locator("#make-trajectory svg").waitFor();
  const note = await p.locator("#make-trajectory-note").textContent();
  assert.match(note, /^pirate talk read out at layer \d+, .*prompt mean −?\d+\.\d\d; unsteered reply mean −?\d+\.\d\d, steered reply mean −?\d+\.\d\d\. Dashed: without steering; solid: steered\. \(Token 0, the attention sink, is left out\.\)$/);
  // Steering toward the vector raises its own score over the reply.
  assert.ok(mean(/, steered reply mean (−?\d+\.\d\d)/, note) > mean(/unsteered reply mean (−?\d+\.\d\d)/, note), note);
  assert.equal(await p.locator('#make-trajectory g[aria-description="steered"] path').count(), 1);

  // The same vector as a row of the Steer view, at the same strength: the same steered reply.
  await p.locator("nav a[data-view=steer]").click();
  const row = p.getByTestId("steer-emotion");
  assert.deepEqual(await row.locator('optgroup[label="made here"] option').allTextContents(), ["pirate talk"]);
  await row.selectOption("pirate talk");
  await p.getByTestId("steer-strength").fill("0.4");
  await generate(p);
  assert.equal(await p.getByTestId("output-text").textContent(), steered);

  // Its link carries the vector in the fragment beside the steer row; so do both embed snippets.
  await p.locator("#copy-link").click();
  const link = await p.locator("#share-url").inputValue();
  const url = new URL(link);
  assert.equal(url.searchParams.get("steer"), "pirate talk:0.4");
  assert.match(url.hash, /^#made=[A-Za-z0-9_-]+&name=pirate\+talk&hash=[0-9a-f]{16}&layer=\d+&strength=0\.4$/);
  await p.locator("#embed-panel summary").click();
  const iframe = await p.getByTestId("embed-iframe").inputValue();
  assert.ok(iframe.replaceAll("&amp;", "&").includes(url.hash), "the iframe snippet carries the fragment");
  assert.ok((await p.getByTestId("embed-element").inputValue()).includes(` made="${url.hash.slice(1).replaceAll("&", "&amp;")}"`));
  assert.deepEqual(p.errors, []);
  await p.close();

  // A fresh profile: the link, then the embed, each steer with the carried vector alone.
  for (const target of [link, /src="([^"]*)"/.exec(iframe)[1].replaceAll("&amp;", "&")]) {
    const context = await site.browser.newContext();
    const q = await recordingPage(context);
    await q.goto(target);
    await ready(q);
    await finished(q);
    assert.equal(await q.getByTestId("output-text").textContent(), steered, target.slice(0, 80));
    assert.deepEqual(q.errors, []);
    await context.close();
  }
});

test("control vectors: picker and drop import both layouts and steer; another model's file is refused; the page's export imports back exactly", async () => {
  const p = await recordingPage(site.browser);
  await p.goto(`${site.url}?view=make&${QUERY}`);
  await ready(p);

  // cvector-generator's layout, by the file picker: 29 layers, strength as llama.cpp's scale.
  await p.getByTestId("make-import").setInputFiles("tests/fixtures/cvec_generator.gguf");
  assert.equal(await status(p, /^Imported/), `Imported "cvec_generator": a control vector of 29 layers, ready to steer.`);
  assert.equal(await p.getByTestId("make-neighbours").locator("li").count(), 10);
  assert.equal(await p.getByTestId("make-steer").getAttribute("max"), "5");
  assert.equal(await p.getByTestId("make-steer").inputValue(), "1");
  assert.match(await p.locator("#make-strength-help").textContent(), /llama\.cpp's scale .* A link cannot carry it/);
  await p.getByTestId("make-steer").fill("5");
  await generate(p);
  assert.notEqual(await p.getByTestId("make-output").textContent(), await p.getByTestId("make-baseline").textContent());
  await p.locator("#copy-link").click();
  assert.equal(new URL(await p.locator("#share-url").inputValue()).hash, "", "no link carries an imported vector");

  // repeng's layout, dropped on the page.
  const b64 = readFileSync("tests/fixtures/cvec_repeng.gguf").toString("base64");
  const dt = await p.evaluateHandle((data) => {
    const t = new DataTransfer();
    t.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], "cvec_repeng.gguf"));
    return t;
  }, b64);
  await p.dispatchEvent("#make-drop", "drop", { dataTransfer: dt });
  assert.equal(await status(p, /^Imported "cvec_repeng"/), `Imported "cvec_repeng": a control vector of 29 layers, ready to steer.`);

  // Files that do not fit are refused with their reason, and the engine stays usable.
  const refused = [
    ["tests/fixtures/cvec_wrong_embd.gguf", /directions have 960 values, but this model's embedding has 576: it was made for another model \(its hint: "llama"\)/],
    ["tests/fixtures/cvec_wrong_layers.gguf", /has direction\.30, but this model has 30 layers/],
    [{ name: "notes.gguf", mimeType: "application/octet-stream", buffer: Buffer.from("not a gguf file at all") }, /control vector file/],
  ];
  for (const [file, why] of refused) {
    await p.getByTestId("make-import").setInputFiles(file);
    assert.match(await status(p, /^Error: /), why);
  }

  // A made vector exported as a llama.cpp control vector at 0.4 and imported back at 1 adds the
  // very same numbers: the same steered reply.
  await makePirate(p);
  await p.getByTestId("make-steer").fill("0.4");
  await generate(p);
  const steered = await p.getByTestId("make-output").textContent();
  const [gguf] = await Promise.all([p.waitForEvent("download"), p.getByTestId("make-export-gguf").click()]);
  await p.getByTestId("make-import").setInputFiles(await gguf.path());
  await status(p, /^Imported/);
  assert.equal(await p.getByTestId("make-steer").inputValue(), "1");
  await generate(p);
  assert.equal(await p.getByTestId("make-output").textContent(), steered);
  assert.deepEqual(p.errors, []);
  await p.close();
});

test("Monitor and Dose read a made vector", async () => {
  const p = await recordingPage(site.browser, { viewport: { width: 1280, height: 900 } });
  await p.goto(`${site.url}?view=make&${QUERY}`);
  await ready(p);
  await makePirate(p);
  await p.locator("nav a[data-view=experiments]").click();
  const run = async (id) => {
    await p.getByTestId(`${id}-run`).and(p.locator(":enabled")).click();
    await p.locator(`#${id}-status`, { hasText: /^(done|error)/ }).waitFor({ timeout: 180_000 });
    assert.match(await p.locator(`#${id}-status`).textContent(), /^done/);
  };
  const rows = (id) => p.locator(`#${id}-table tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));

  await p.getByTestId("monitor-emotion").selectOption("pirate talk");
  await p.fill("#monitor-max", "6");
  await run("monitor");
  const monitor = await rows("monitor");
  assert.equal(monitor.length, 6);
  assert.equal(await p.locator("#monitor-table thead th:nth-child(3)").textContent(), "pirate talk");
  for (const r of monitor) assert.match(r[2], /^−?\d+\.\d\d$/);

  await p.getByTestId("dose-made").selectOption("pirate talk");
  await run("dose");
  assert.deepEqual(await p.locator("#dose-table thead th").allTextContents(), ["dose", "prompt", "afraid", "calm", "pirate talk"]);
  for (const r of await rows("dose")) assert.match(r[4], /^−?\d+\.\d\d$/);
  assert.match(await p.locator("#dose-rho").textContent(), /dose vs pirate talk [+−]\d\.\d\d/);
  assert.deepEqual(p.errors, []);
  await p.close();
});
