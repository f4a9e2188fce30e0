// Browser speed of the page in headless Chromium (playwright-core, /usr/bin/chromium): the
// bench prompt, greedy tokens, medians of the runs after one warm-up. Prints, as its last
// line, {"backend","threads","simd","load_ms","prompt_tps","decode_tps"} plus the page's figures:
// load from cache, first contentful paint, time to first token, the wasm's gzip size; on
// WebGPU also the GPU's work per pass over the measured runs (each token's pass and each
// prompt's: dispatches, copies, submits, bytes read back, the prompts' logits included).
// Usage: node scripts/bench_web.mjs [port] [cpu|webgpu] [tokens] [runs] [threads] [plain] [model]
// (`model`: the menu's id, e.g. gemma-3-270m; a model without chat is sent the request as
// limbic's plain transcript, the text bench_wllama.mjs gives wllama for it).
//   (threads 1 or 2 adds ?threads=: the CPU engine without or with its co-worker; "plain" adds
//   ?simd=plain: the engine build without relaxed SIMD, as browsers that lack it run)
//   (starts scripts/serve.py itself; webgpu adds --enable-unsafe-webgpu and ?backend=webgpu,
//   which is SwiftShader's CPU emulation on a machine without a GPU)
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

/** The built engine's size as served compressed (gzip -9): the larger of its two builds. */
function wasmGzip() {
  const dir = "www/dist/assets";
  const sizes = readdirSync(dir).filter((n) => n.endsWith(".wasm"))
    .map((f) => gzipSync(readFileSync(`${dir}/${f}`), { level: 9 }).length);
  return sizes.length ? Math.max(...sizes) : null;
}

/** The GPU's work between two counts, per pass (`passes`: each measured run's prompt pass and a
 * pass per token, the last one too as the page reads every token out); so the bytes read back
 * include each prompt's logits and scores. Nothing on the CPU. */
function perPass(before, after, passes) {
  if (!before?.length || !after?.length || !passes) return {};
  const per = (i) => Math.round(((after[i] - before[i]) / passes) * 10) / 10;
  return { dispatches_per_pass: per(0), copies_per_pass: per(1), submits_per_pass: per(2), readback_bytes_per_pass: per(3) };
}

const port = Number(process.argv[2] || 18765);
const backend = process.argv[3] || "cpu";
const tokens = String(process.argv[4] || 128);
const nRuns = Number(process.argv[5] || 4);
const model = process.argv[8];
const options = (process.argv[6] ? `&threads=${process.argv[6]}` : "") + (process.argv[7] === "plain" ? "&simd=plain" : "") +
  (model ? `&model=${model}` : "");
const REQUEST = "Write a short story about a girl who lost her dog.";
const prompt = model ? `User: ${REQUEST}\n\nAssistant:` : REQUEST;
const server = spawn("python3", ["scripts/serve.py", "--port", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
await new Promise((ok) => server.stdout.on("data", (d) => String(d).includes("serving") && ok()));
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", backend === "webgpu" ? "--enable-unsafe-webgpu" : "--disable-gpu",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-quic"],
});
try {
  const page = await browser.newPage();
  const t0 = Date.now();
  const url = `http://127.0.0.1:${port}/?backend=${backend}${options}`;
  await page.goto(url);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 300_000 });
  const loadMs = Date.now() - t0;
  const firstPaintMs = await page.evaluate(() =>
    performance.getEntriesByType("paint").find((e) => e.name === "first-contentful-paint")?.startTime);
  // Again, now that the model is in the browser's cache (and the site in the service worker's).
  const t1 = Date.now();
  await page.goto(url); // not reload(): the page's URL state has no `threads`
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 300_000 });
  const cachedLoadMs = Date.now() - t1;
  const badge = await page.getByTestId("backend-badge").textContent();
  if ((backend === "webgpu") !== /WebGPU/.test(badge)) throw new Error(`asked for ${backend}, running on ${badge}`);
  await page.fill("#max-tokens", tokens);
  // Time to first token as a person sees it: the click to the first reply text on the page.
  await page.getByTestId("prompt-input").fill(prompt);
  const t2 = Date.now();
  await page.getByTestId("generate-button").click();
  await page.waitForFunction(() => document.querySelector("[data-testid=output-text]")?.textContent?.length > 0,
    null, { timeout: 300_000, polling: 5 });
  const firstTokenMs = Date.now() - t2;
  await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 300_000 });
  await page.getByTestId("prompt-input").fill(prompt);
  const runs = [];
  const counts = () => page.evaluate(async () => (await window.limbic.engineState()).gpuCounts);
  let before = null;
  for (let i = 0; i < nRuns; i++) {
    if (i === 1) before = await counts();
    await page.getByTestId("generate-button").click();
    await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 300_000 });
    runs.push(JSON.parse(await page.locator("#speed").getAttribute("data-stats")));
  }
  const after = await counts();
  const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const measured = runs.slice(1);
  console.log(JSON.stringify({
    backend,
    model: model ?? "smollm2",
    threads: measured[0]?.threads ?? 1,
    simd: measured[0]?.simd,
    load_ms: loadMs,
    load_cached_ms: cachedLoadMs,
    first_paint_ms: Math.round(firstPaintMs ?? -1),
    first_token_ms: firstTokenMs,
    wasm_gzip_bytes: wasmGzip(),
    prompt_tps: median(measured.map((r) => r.promptTokens / (r.promptMs / 1000))),
    decode_tps: median(measured.map((r) => (r.tokens - 1) / (r.decodeMs / 1000))),
    ...perPass(before, after, measured.reduce((n, r) => n + r.tokens + 1, 0)),
  }));
} finally {
  await browser.close();
  server.kill();
}
