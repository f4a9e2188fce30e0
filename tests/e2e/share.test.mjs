// Sharing and classroom use end to end: the embed in an iframe on another site (via the
// <limbic-demo> element), sized by its origin-checked height messages; the Embed panel's
// snippets; CSV / JSON / SVG / PNG exports of a short reply; the precomputed example at first
// paint; the worksheet.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startHost, startServer, launch, freePort, recordingPage } from "./server.mjs";

const PORT = await freePort();
const HOST_PORT = await freePort();
const SITE = `http://127.0.0.1:${PORT}/`;
// Another site altogether: "localhost" is another host name than 127.0.0.1, another port too.
const HOST = `http://localhost:${HOST_PORT}/`;
let server, host, browser;

const hostPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A blog</title>
<script src="${SITE}limbic-demo.js" defer></script></head>
<body><h1>A blog post about language models</h1>
<limbic-demo view="steer" prompt="Tell me about your weekend." steer="sad:0.3" max="4" temperature="0" seed="42" backend="cpu" autorun="1"></limbic-demo>
<p>Text after the embed.</p></body></html>`;

before(async () => {
  server = await startServer(PORT);
  host = await startHost(HOST_PORT, { "/": hostPage });
  browser = await launch(["--disable-gpu"]);
});

after(async () => {
  await browser?.close();
  server?.kill();
  host?.close();
});

// A page that records page errors and CSP violations (window.__csp).
const newPage = () => recordingPage(browser);

// A minimal RFC 4180 reader: rows of fields.
function parseCsv(text) {
  const rows = [[]];
  let field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { rows.at(-1).push(field); field = ""; }
    else if (c === "\r" && text[i + 1] === "\n") { rows.at(-1).push(field); field = ""; rows.push([]); i++; }
    else field += c;
  }
  if (rows.at(-1).length === 0 && field === "") rows.pop();
  return rows;
}

async function download(p, testId) {
  const [d] = await Promise.all([p.waitForEvent("download"), p.getByTestId(testId).click()]);
  return { name: d.suggestedFilename(), bytes: readFileSync(await d.path()) };
}

test("first paint shows the precomputed example, labelled, until the model is ready", async () => {
  const p = await newPage();
  await p.goto(SITE);
  await p.getByTestId("example-label").filter({ hasText: "example (precomputed)" }).waitFor({ timeout: 10_000 });
  const status = await p.getByTestId("model-status").textContent();
  const times = await p.evaluate(() => ({
    fcp: performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint")?.startTime,
    example: performance.getEntriesByName("limbic-example-shown")[0]?.startTime,
  }));
  console.log(`first paint: first-contentful-paint ${times.fcp?.toFixed(0)} ms, example shown ${times.example?.toFixed(0)} ms (model status then: ${JSON.stringify(status)})`);
  assert.ok(times.fcp > 0 && times.example > 0);
  assert.ok(times.example < 3000, `the example took ${times.example} ms`);
  const tokens = await p.locator("#example .tok.reply").count();
  assert.ok(tokens > 10, `${tokens} example reply tokens`);
  assert.match(await p.locator("#example .tok.reply").first().getAttribute("title"), /^[a-z -]+ -?\d+\.\d\d, /);
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  assert.equal(await p.locator("#example").isVisible(), false);
  assert.deepEqual(await p.evaluate(() => window.__csp), []);
  await p.close();
});

test("exports: CSV and JSON of the readout, SVG and PNG of the charts; the Embed panel's snippets", async () => {
  const p = await newPage();
  const prompt = 'My dog, "Rex", died.';
  await p.goto(`${SITE}?prompt=${encodeURIComponent(prompt)}&max=4&temperature=0&seed=5&autorun=1`);
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  await p.locator("#speed").filter({ hasText: "tokens/s" }).waitFor({ timeout: 120_000 });
  await p.getByTestId("export-csv").and(p.locator(":enabled")).waitFor({ timeout: 60_000 });
  const reply = await p.getByTestId("output-text").textContent();

  const csv = await download(p, "export-csv");
  assert.match(csv.name, /^limbic-readout-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.csv$/);
  const rows = parseCsv(csv.bytes.toString("utf8"));
  const [header, ...body] = rows;
  assert.deepEqual(header.slice(0, 4), ["index", "kind", "token", "afraid"]);
  assert.equal(header.length, 3 + 171);
  for (const r of body) {
    assert.equal(r.length, header.length, `row ${r.slice(0, 3)}`);
    for (const x of r.slice(3)) assert.match(x, /^-?\d+\.\d{4}$/);
  }
  assert.equal(body.filter((r) => r[1] === "prompt").map((r) => r[2]).join(""), prompt);
  assert.equal(body.filter((r) => r[1] === "reply").map((r) => r[2].replace(/^'(?=[=+\-@\t\r])/, "")).join(""), reply);
  // A token with a comma or a quote survives in its own field.
  assert.ok(body.some((r) => r[2].includes(",")), "no token with a comma");
  assert.ok(body.some((r) => r[2].includes('"')), "no token with a quote");

  const json = JSON.parse((await download(p, "export-json")).bytes.toString("utf8"));
  const defaultLayer = JSON.parse(readFileSync("docs/validation/report.json", "utf8")).default_layer;
  assert.deepEqual({ ...json.meta, date: undefined, emotions: undefined, backend: undefined }, {
    model: "SmolLM2-135M-Instruct (Q4_1 GGUF)", layer: defaultLayer, seed: 5, temperature: 0, maxTokens: 4, steer: "", steers: [],
    prompt, precision: 4, date: undefined, emotions: undefined, backend: undefined,
  });
  assert.match(json.meta.date, /^\d{4}-\d\d-\d\dT/);
  assert.equal(json.meta.emotions.length, 171);
  assert.equal(json.tokens.filter((t) => t.kind === "reply").map((t) => t.text).join(""), reply);
  assert.equal(json.tokens.length, body.length);
  assert.equal(json.tokens[0].scores.length, 171);
  assert.equal(json.tokens[0].scores[0].toFixed(4), body[0][3]);

  const svg = await download(p, "export-trajectory-svg");
  assert.match(svg.name, /\.svg$/);
  const svgText = svg.bytes.toString("utf8");
  assert.match(svgText, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svgText, /<path/);
  const png = await download(p, "export-token-png");
  assert.match(png.name, /\.png$/);
  assert.deepEqual([...png.bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  assert.ok(png.bytes.length > 2000, `PNG of ${png.bytes.length} bytes`);

  // The Embed panel: both snippets for this state, the page's URL parameters in each.
  await p.getByTestId("embed-button").click();
  await p.getByTestId("embed-iframe").waitFor();
  const iframe = await p.getByTestId("embed-iframe").inputValue();
  assert.ok(iframe.startsWith(`<iframe src="${SITE}embed.html?view=readout&amp;prompt=My+dog%2C+%22Rex%22%2C+died.`), iframe);
  assert.match(iframe, /seed=5&amp;.*autorun=1"/);
  const element = await p.getByTestId("embed-element").inputValue();
  assert.ok(element.startsWith(`<script src="${SITE}limbic-demo.js" defer></script>\n<limbic-demo view="readout" prompt="My dog, &quot;Rex&quot;, died."`), element);
  assert.deepEqual(await p.evaluate(() => window.__csp), []);
  await p.close();
});

test("the embed renders on another site, reaches ready, runs, and sizes itself; other origins' messages are ignored", async () => {
  const p = await newPage();
  await p.addInitScript(() => {
    window.__resizes = [];
    document.addEventListener("limbic-resize", (e) => window.__resizes.push(e.detail.height), true);
  });
  await p.goto(HOST);
  assert.equal(await p.evaluate(() => window.crossOriginIsolated), true, "the host page is cross-origin isolated");
  const frame = p.frameLocator("limbic-demo iframe");
  await frame.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
  // Done, not just the live count (the text is drawn on its own clock while a reply streams).
  await frame.getByTestId("generate-button").and(frame.locator(":enabled")).waitFor({ timeout: 120_000 });
  assert.ok((await frame.getByTestId("output-text").textContent()).length > 0);
  assert.ok((await frame.getByTestId("baseline-text").textContent()).length > 0);
  assert.equal(await frame.getByTestId("steer-emotion").inputValue(), "sad");
  const open = await frame.getByTestId("open-full").getAttribute("href");
  assert.ok(open.startsWith(`${SITE}?view=steer&prompt=Tell+me+about+your+weekend.&steer=sad%3A0.3`), open);

  // The host took the embed's own height reports...
  await p.waitForFunction(() => window.__resizes.length > 0);
  const embedHeight = await frame.locator("html").evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
  await p.waitForFunction((h) => document.querySelector("limbic-demo").iframe.getBoundingClientRect().height === h, embedHeight);
  const before = await p.evaluate(() => ({ n: window.__resizes.length, h: document.querySelector("limbic-demo").iframe.style.height }));
  assert.equal(before.h, `${embedHeight}px`);
  // ...and ignores the same message from any other origin or window (here the host itself).
  await p.evaluate(() => window.postMessage({ type: "limbic:height", height: 321 }, "*"));
  await p.waitForTimeout(500);
  const after = await p.evaluate(() => ({ n: window.__resizes.length, h: document.querySelector("limbic-demo").iframe.style.height }));
  assert.deepEqual(after, before);
  assert.deepEqual(await p.evaluate(() => window.__csp), []);
  await p.close();
});

test("the worksheet is plain HTML with working links into the page", async () => {
  const p = await newPage();
  await p.goto(SITE);
  await p.getByTestId("worksheet-link").click();
  await p.getByRole("heading", { level: 1 }).waitFor();
  assert.match(await p.getByRole("heading", { level: 1 }).textContent(), /emotions/);
  const links = await p.locator("main a[href^='./?']").count();
  assert.ok(links >= 15, `${links} links`);
  await p.getByRole("link", { name: "500 mg" }).click();
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 120_000 });
  assert.equal(await p.getByTestId("colour-emotion").inputValue(), "afraid");
  assert.match(await p.getByTestId("prompt-input").inputValue(), /500 mg of Tylenol/);
  assert.deepEqual(await p.evaluate(() => window.__csp), []);
  await p.close();
});
