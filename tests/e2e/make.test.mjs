// Make a vector in the page (issue 17): a visitor writes four texts, makes a vector, sees its
// nearest emotions, and steers a greedy reply that differs from the unsteered one; the link
// (the vector in its fragment) reproduces the same steered reply in a fresh browser profile; a
// hostile fragment shows a message and runs nothing; exports; Clear forgets made vectors and
// leaves the built-in emotions. Prints the time to make a vector from 10 texts (~60 tokens
// each) on the CPU engine (BENCHMARKS.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PIRATE_TEXTS, useSite, recordingPage } from "./server.mjs";

const site = useSite();
const TEXTS = PIRATE_TEXTS;
const QUERY = `view=make&prompt=${encodeURIComponent("Tell me about your weekend.")}&max=16&temperature=0&seed=42`;

async function ready(p) {
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
}
async function finished(p) {
  await p.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 120_000 });
  await p.getByTestId("generate-button").and(p.locator(":enabled")).waitFor({ timeout: 120_000 });
}
async function makeFrom(p, texts, name) {
  await p.fill("#make-name", name);
  await p.getByTestId("make-texts").fill(texts.join("\n"));
  await p.getByTestId("make-button").click();
  await p.locator("#make-status").filter({ hasText: /^Made / }).waitFor({ timeout: 180_000 });
  return p.locator("#make-status").textContent();
}

let link = "";
let steered = "";

test("four texts make a vector; its neighbours show; steering with it changes the greedy reply", async () => {
  const p = await recordingPage(site.browser);
  await p.goto(`${site.url}?${QUERY}`);
  await ready(p);
  await makeFrom(p, TEXTS, "pirate talk");
  assert.equal(await p.getByTestId("make-progress").evaluate((el) => el.value), 1);
  const near = await p.getByTestId("make-neighbours").locator("li").allTextContents();
  assert.equal(near.length, 10);
  for (const li of near) assert.match(li, /^[a-z -]+ -?0\.\d{3}$/);
  assert.match(await p.locator("#make-lens").textContent(), /logit lens at layer \d+/);

  await p.getByTestId("make-steer").fill("0.4");
  await p.getByTestId("generate-button").click();
  await finished(p);
  const plain = await p.getByTestId("make-baseline").textContent();
  steered = await p.getByTestId("make-output").textContent();
  assert.ok(plain.trim().length > 0 && steered.trim().length > 0);
  assert.notEqual(steered, plain, "steering with the made vector changed nothing");

  await p.locator("#copy-link").click();
  link = await p.locator("#share-url").inputValue();
  const url = new URL(link);
  assert.match(url.hash, /^#made=[A-Za-z0-9_-]+&name=pirate\+talk&hash=[0-9a-f]{16}&layer=\d+&strength=0\.4$/);
  assert.ok(!url.search.includes("made="), "the vector must travel in the fragment, never the query");
  assert.ok(url.hash.length < 2000, `fragment of ${url.hash.length} characters`);

  // Exports: JSON with the vector, and a llama.cpp control vector.
  const [json] = await Promise.all([p.waitForEvent("download"), p.getByTestId("make-export-json").click()]);
  const j = JSON.parse(readFileSync(await json.path(), "utf8"));
  assert.equal(j.name, "pirate talk");
  assert.equal(Object.keys(j.layers).length, 30);
  assert.equal(j.layers[String(j.steer_layer)].length, 576);
  const [gguf] = await Promise.all([p.waitForEvent("download"), p.getByTestId("make-export-gguf").click()]);
  const bytes = readFileSync(await gguf.path());
  assert.equal(bytes.subarray(0, 4).toString("latin1"), "GGUF");
  assert.ok(bytes.includes(Buffer.from("controlvector.layer_count")) && bytes.includes(Buffer.from(`direction.${j.steer_layer}`)));

  // Clear: made vectors gone, the built-in emotions unchanged.
  await p.getByTestId("make-clear").click();
  assert.equal(await p.getByTestId("make-neighbours").locator("li").count(), 0);
  assert.equal(new URL(await p.evaluate(() => location.href)).hash, "");
  await p.locator("nav a[data-view=steer]").click();
  assert.equal(await p.locator("[data-testid=steer-emotion] option").count(), 172);
  assert.deepEqual(p.errors, []);
  await p.close();
});

test("the link reproduces the same steered reply in a fresh browser profile", async () => {
  assert.ok(link, "the first test made a link");
  const context = await site.browser.newContext();
  const p = await recordingPage(context);
  await p.goto(link);
  await ready(p);
  await finished(p);
  assert.equal(await p.getByTestId("make-output").textContent(), steered);
  const hash = new URLSearchParams(new URL(link).hash.slice(1)).get("hash");
  assert.match(await p.locator("#make-status").textContent(), new RegExp(`from the link is ready to steer \\(its texts' hash: ${hash};`));
  assert.equal(await p.getByTestId("make-neighbours").locator("li").count(), 10);
  assert.deepEqual(p.errors, []);
  await context.close();
});

test("a hostile fragment shows a message and runs nothing", async () => {
  const good = new URL(link).hash.slice(1);
  const q = (k, v) => { const s = new URLSearchParams(good); s.set(k, v); return s.toString(); };
  const nan = (() => {
    const s = new URLSearchParams(good);
    const b = Buffer.from(s.get("made"), "base64url");
    b.writeUInt16LE(0x7e00, 10);
    s.set("made", b.toString("base64url"));
    return s.toString();
  })();
  const cases = [
    ["bad base64", q("made", "%%%not-base64!!"), /not base64url/],
    ["wrong length", q("made", Buffer.alloc(200, 1).toString("base64url")), /100 values; this model's residual stream has 576/],
    ["NaN", nan, /NaN or infinity/],
    // Chromium will not open a URL over 2 MB, so the page meets 1.5 MB here (10 MB: the unit test).
    ["1.5 MB", `made=${"A".repeat(1_500_000)}`, /more than 16384/],
  ];
  const p = await recordingPage(site.browser);
  for (const [what, frag, why] of cases) {
    await p.goto(`${site.url}?${QUERY}&autorun=1#${frag}`).catch((e) => assert.fail(`${what}: ${e.message.slice(0, 200)}`));
    await ready(p);
    assert.match(await p.locator("#link-note").textContent(), why, what);
    await p.waitForTimeout(500);
    assert.equal(await p.getByTestId("make-output").textContent(), "", `${what}: something ran`);
    assert.equal(await p.locator("#speed").textContent(), "", `${what}: something ran`);
  }
  assert.deepEqual(p.errors, []);
  await p.close();
});

test("time to make a vector from 10 texts of ~60 tokens on the CPU engine", async () => {
  const texts = readFileSync("benches/make-texts.txt", "utf8").split("\n").filter(Boolean);
  assert.equal(texts.length, 10);
  const p = await recordingPage(site.browser);
  await p.goto(`${site.url}?view=make&backend=cpu`);
  await ready(p);
  const status = await makeFrom(p, texts, "pirate talk");
  const seconds = Number(/in ([\d.]+) s/.exec(status)[1]);
  console.log(`make-vector in the page (CPU engine): 10 texts in ${seconds} s`);
  assert.ok(seconds < 60, status);
  await p.close();
});
