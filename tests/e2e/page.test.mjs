// The page end to end in Debian's Chromium (playwright-core, never a downloaded browser):
// the model loads from the local server, text streams, Stop stops, the readout and steering
// views work, links reproduce views and runs, and nothing breaks the CSP.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer, launch, freePort, recordingPage } from "./server.mjs";

const PORT = await freePort();
const URL_ = `http://127.0.0.1:${PORT}/`;
let server, browser, page;

before(async () => {
  server = await startServer(PORT);
  browser = await launch(["--disable-gpu"]);
  page = await newPage();
  await page.goto(URL_);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
});

// A page that records page errors and CSP violations (window.__csp) for `clean` to check.
const newPage = () => recordingPage(browser);

// No CSP violation so far (Plot's charts, inline styles, scripts).
async function clean(p) {
  assert.deepEqual(await p.evaluate(() => window.__csp), []);
}

// Opens `query` in a fresh page and waits for the model.
async function open(query) {
  const p = await newPage();
  await p.goto(`${URL_}?${query}`);
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  return p;
}

// Waits for the reply under way (started by a click or autorun) to finish.
async function finished(p) {
  await p.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 120_000 });
  await p.getByTestId("generate-button").and(p.locator(":enabled")).waitFor({ timeout: 120_000 });
}

after(async () => {
  await browser?.close();
  server?.kill();
});

test("the model loads and the badge names the CPU backend", async () => {
  assert.match(await page.getByTestId("backend-badge").textContent(), /CPU/);
  assert.equal(await page.getByTestId("model-progress").evaluate((p) => p.value), 1);
});

test("generation streams text into the output", async () => {
  await page.fill("#max-tokens", "12");
  await page.getByTestId("prompt-input").fill("Name three rivers in Europe.");
  await page.getByTestId("generate-button").click();
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 120_000 });
  const text = await page.getByTestId("output-text").textContent();
  assert.ok(text.trim().split(/\s+/).length >= 3, `too little text: ${JSON.stringify(text)}`);
  assert.match(await page.locator("#speed").textContent(), /^12 tokens, [\d.]+ tokens\/s \(prompt [\d.]+, reply [\d.]+ tokens\/s\)$/);
});

test("Stop ends a long generation early", async () => {
  await page.fill("#max-tokens", "500");
  await page.getByTestId("prompt-input").fill("Write a long story about the sea.");
  await page.getByTestId("generate-button").click();
  await page.waitForFunction(() => document.querySelector("[data-testid=output-text]").textContent.length > 10);
  await page.getByTestId("stop-button").click();
  await page.locator("#speed", { hasText: "stopped" }).waitFor({ timeout: 30_000 });
  const n = Number((await page.locator("#speed").textContent()).split(" ")[0]);
  assert.ok(n > 0 && n < 500, `stopped after ${n} tokens`);
});

test("prompt text is shown as text, never run as HTML", async () => {
  const evil = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
  await page.fill("#max-tokens", "2");
  await page.getByTestId("prompt-input").fill(evil);
  await page.getByTestId("generate-button").click();
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 60_000 });
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator("#output img").count(), 0);
});

test("the emotion readout lists the top 10 emotions of the current token with numbers", async () => {
  await page.fill("#max-tokens", "6");
  await page.getByTestId("prompt-input").fill("My dog died this morning.");
  await page.getByTestId("generate-button").click();
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 60_000 });
  const items = await page.getByTestId("emotion-readout").locator("li").allTextContents();
  assert.equal(items.length, 10);
  for (const it of items) assert.match(it, /^[a-z -]+ -?\d+\.\d\d$/);
  // The bar chart shows the same ten, with their numbers.
  const label = await page.locator(".readout svg").getAttribute("aria-label");
  for (const it of items) assert.ok(label.includes(it), `${it} missing from the chart: ${label}`);
  // Prompt and reply tokens carry their numbers, and are coloured only where their intensity
  // stands out from neutral text (readout.test.mjs checks that a grieving passage lights up; this
  // five-word prompt, averaged with the chat template before it, does not at the defaults).
  const promptTokens = page.locator(".bubble.user .tok.prompt");
  assert.equal((await promptTokens.allTextContents()).join(""), "My dog died this morning.");
  const bgs = await promptTokens.evaluateAll((els) => els.map((e) => e.style.backgroundColor));
  assert.ok(bgs.every((c) => c === "transparent" || /^rgba\(/.test(c)), bgs.join(" "));
  assert.match(await promptTokens.first().getAttribute("title"), /^[a-z -]+ -?\d+\.\d\d, /);
  // Hovering a prompt token shows its own readout.
  await promptTokens.nth(1).hover();
  await page.locator("#readout-token", { hasText: '" dog" (prompt' }).waitFor();
  // The trajectory chart draws three emotions across the prompt's and reply's tokens.
  assert.match(await page.locator(".trajectory svg").getAttribute("aria-label"), /^trajectory across \d+ tokens of [a-z ]+, [a-z ]+, [a-z ]+$/);
  await clean(page);
});

test("tokens are reachable by keyboard: one tab stop, arrow keys move, focus shows the readout", async () => {
  const first = page.locator("[data-testid=output-text] .tok").first();
  await first.focus();
  const firstText = await first.textContent();
  await page.locator("#readout-token", { hasText: JSON.stringify(firstText) }).waitFor();
  await page.keyboard.press("ArrowRight");
  // The next token with text of its own (a piece of a multi-byte character has none and is skipped).
  const second = (await page.locator("[data-testid=output-text] .tok").allTextContents()).slice(1).find((t) => t !== "");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), second);
  await page.locator("#readout-token", { hasText: JSON.stringify(second) }).waitFor();
  assert.equal(await page.locator("[data-testid=output-text] .tok[tabindex='0']").count(), 1);
});

test("steering toward an emotion changes the greedy reply", async () => {
  const reply = async () => {
    await page.getByTestId("generate-button").click();
    await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 60_000 });
    return page.getByTestId("output-text").textContent();
  };
  await page.getByRole("link", { name: "Steer" }).click();
  assert.match(page.url(), /view=steer/);
  assert.equal(await page.locator("[data-testid=steer-emotion] option").count(), 172);
  await page.fill("#max-tokens", "10");
  await page.fill("#temperature", "0");
  await page.getByTestId("prompt-input").fill("Tell me about your weekend.");
  await page.getByTestId("steer-emotion").selectOption("");
  const plain = await reply();
  assert.equal(await reply(), plain, "greedy replies differ without steering");
  await page.getByTestId("steer-emotion").selectOption("sad");
  await page.getByTestId("steer-strength").fill("0.3");
  const steered = await reply();
  assert.notEqual(steered, plain);
  // Side by side: the unsteered reply with the same seed streams first, beside the steered one.
  assert.equal(await page.getByTestId("baseline-text").textContent(), plain);
  assert.ok(await page.getByTestId("baseline-text").isVisible());
  // The steered run's readout: every token has its numbers (smoothed top 3 and intensity), a
  // colour only where it stands out from neutral text, and its top 10 are listed.
  const titles = await page.locator("[data-testid=output-text] .tok").evaluateAll((els) => els.map((e) => e.title));
  assert.ok(titles.every((t) => /intensity -?\d+\.\d sd over \d+ tokens?/.test(t)), titles.join(" | "));
  const colours = await page.locator("[data-testid=output-text] .tok").evaluateAll((els) => els.map((e) => e.style.backgroundColor));
  assert.ok(colours.every((c) => c === "transparent" || /^rgba\(/.test(c)), colours.join(" "));
  assert.equal(await page.getByTestId("emotion-readout").locator("li").count(), 10);
  assert.match(await page.locator(".steered-title").textContent(), /steered: sad 0\.3/);
  // What the validation report measured for sad is said beside the sliders, from the report.
  const sad = JSON.parse(readFileSync("docs/validation/report.json", "utf8")).steering.emotions.find((e) => e.emotion === "sad");
  await page.getByTestId("steer-measured").filter({ hasText: `p(“sad”) ×${sad.p_feel_ratio.toFixed(1)}` }).waitFor();
  // One click resets every row.
  await page.getByTestId("steer-reset").click();
  assert.equal(await page.getByTestId("steer-emotion").inputValue(), "");
  await page.waitForFunction(() => !location.search.includes("steer="));
  await clean(page);
});

test("a shared link reproduces a steered run, and Copy link makes such a link", async () => {
  // The steered reply from the form...
  await page.fill("#max-tokens", "8");
  await page.fill("#temperature", "0");
  await page.getByTestId("prompt-input").fill("Describe your morning.");
  await page.getByTestId("steer-emotion").selectOption("calm");
  await page.getByTestId("steer-strength").fill("0.3");
  await page.getByTestId("generate-button").click();
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 60_000 });
  const fromForm = await page.getByTestId("output-text").textContent();
  await page.getByTestId("copy-link").click();
  const link = await page.locator("#share-url").inputValue();
  assert.match(link, /steer=calm%3A0\.3/);
  assert.match(link, /view=steer/);
  assert.match(link, /autorun=1/);
  // ...equals the reply a fresh page makes from the link alone.
  const other = await newPage();
  await other.goto(link);
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  await other.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 60_000 });
  await other.getByTestId("generate-button").and(other.locator(":enabled")).waitFor({ timeout: 60_000 });
  assert.equal(await other.getByTestId("output-text").textContent(), fromForm);
  await other.close();
  await page.getByTestId("steer-emotion").selectOption("");
});

test("HTML in a linked prompt is shown as text and runs nothing", async () => {
  const evil = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
  const other = await newPage();
  await other.goto(`${URL_}?prompt=${encodeURIComponent(evil)}&max=2&autorun=1&steer=${encodeURIComponent("<b>x</b>:1")}`);
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  await other.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 60_000 });
  assert.equal(await other.getByTestId("prompt-input").inputValue(), evil);
  assert.equal(await other.evaluate(() => window.__pwned), undefined);
  assert.equal(await other.locator("img, b").count(), 0);
  assert.match(await other.locator("#link-note").textContent(), /ignored steer "<b>x<\/b>:1"/);
  await other.close();
});

test("a damaged cached model is dropped and downloaded again; Clear cache empties the cache", async () => {
  const other = await newPage();
  await other.goto(URL_);
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  // As a half-finished earlier download would leave it: a short copy under the model's key.
  await other.evaluate(async () => {
    const c = await caches.open("limbic-model-v1");
    await c.put("models/SmolLM2-135M-Instruct.Q4_1.gguf", new Response(new Uint8Array(1000)));
  });
  await other.reload();
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  assert.match(await other.locator("#notice").textContent(), /damaged/);
  // The good copy is cached again: the next load takes it without a notice.
  await other.reload();
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  assert.equal(await other.locator("#notice").textContent(), "");
  await other.getByTestId("clear-cache").click();
  await other.waitForLoadState("load");
  await other.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  await other.close();
});

test("a link with three steers opens the Steer view with all three rows and runs them", async () => {
  const p = await open(`view=steer&prompt=${encodeURIComponent("Describe your morning.")}&steer=sad:0.1,calm:0.2,happy:0.3&max=4&temperature=0&autorun=1`);
  await finished(p);
  assert.equal(await p.getByRole("link", { name: "Steer" }).getAttribute("aria-current"), "page");
  const rows = [["steer-emotion", "steer-strength", "sad", "0.1"], ["steer-emotion-2", "steer-strength-2", "calm", "0.2"],
    ["steer-emotion-3", "steer-strength-3", "happy", "0.3"]];
  for (const [emotion, strength, name, value] of rows) {
    assert.equal(await p.getByTestId(emotion).inputValue(), name);
    assert.equal(await p.getByTestId(strength).inputValue(), value);
  }
  assert.equal(await p.locator(".steered-title").textContent(), "steered: sad 0.1, calm 0.2, happy 0.3");
  assert.ok((await p.getByTestId("baseline-text").textContent()).length > 0);
  assert.equal(await p.locator("#link-note").textContent(), "");
  // Copy link gives back the same three.
  await p.getByTestId("copy-link").click();
  assert.match(await p.locator("#share-url").inputValue(), /steer=sad%3A0\.1%2Ccalm%3A0\.2%2Chappy%3A0\.3/);
  await clean(p);
  await p.close();
});

test("view=steer opens Steer; navigating keeps the state; bad values in a link are named", async () => {
  const p = await open("view=steer&steer=sad:7,nope:0.1&seed=abc");
  assert.equal(await p.getByTestId("steer-emotion").inputValue(), "sad");
  assert.equal(await p.getByTestId("steer-strength").inputValue(), "0.5");
  const note = await p.locator("#link-note").textContent();
  assert.match(note, /clamped to 0\.5/);
  assert.match(note, /ignored steer "nope:0\.1"/);
  assert.match(note, /ignored seed="abc"/);
  await p.getByRole("link", { name: "About" }).click();
  await p.getByRole("heading", { name: "What this shows, and what it does not" }).waitFor();
  assert.match(p.url(), /view=about.*steer=sad%3A0\.5/);
  await p.goBack();
  await p.getByTestId("steer-emotion").waitFor();
  assert.equal(await p.getByTestId("steer-emotion").inputValue(), "sad");
  await p.close();
});

test("layer and emotion from a link take effect: the readout is read at that layer, tokens coloured by that emotion", async () => {
  const prompt = encodeURIComponent("My dog died this morning.");
  const p = await open(`prompt=${prompt}&layer=12&emotion=sad&max=3&temperature=0&autorun=1`);
  await finished(p);
  assert.equal(await p.getByTestId("layer-select").inputValue(), "12");
  assert.equal(await p.getByTestId("colour-emotion").inputValue(), "sad");
  assert.match(await p.locator("#readout-token").textContent(), /layer 12\)/);
  // One emotion on a scale in standard deviations from its score on neutral text.
  assert.match(await p.locator(".legend").textContent(), /sad −4 sd from neutral text \(blue, low\)sad \+4 sd from neutral text \(orange, high\)/);
  assert.match(await p.locator(".trajectory svg").getAttribute("aria-label"), /of sad$/);
  const at12 = await p.getByTestId("emotion-readout").textContent();
  const textAt12 = await p.getByTestId("output-text").textContent();
  // Changing the layer reads the same reply again at the new layer (the vectors' default):
  // same tokens, other scores.
  const def = String(JSON.parse(readFileSync("docs/validation/report.json", "utf8")).default_layer);
  await p.getByTestId("layer-select").selectOption(def);
  await p.locator("#readout-token", { hasText: `layer ${def})` }).waitFor({ timeout: 60_000 });
  await p.getByTestId("generate-button").and(p.locator(":enabled")).waitFor({ timeout: 60_000 });
  assert.equal(await p.getByTestId("output-text").textContent(), textAt12);
  assert.notEqual(await p.getByTestId("emotion-readout").textContent(), at12);
  await p.waitForFunction(() => !location.search.includes("layer=")); // the default is not in the link
  await clean(p);
  await p.close();
});
