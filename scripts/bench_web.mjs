// Browser speed of the page in headless Chromium (playwright-core, /usr/bin/chromium): the
// bench prompt, greedy tokens, medians of the runs after one warm-up. Prints, as its last
// line, {"backend","threads","load_ms","prompt_tps","decode_tps"}.
// Usage: node scripts/bench_web.mjs [port] [cpu|webgpu] [tokens] [runs] [threads]
//   (threads 1 or 2 adds ?threads=: the CPU engine without or with its co-worker)
//   (starts scripts/serve.py itself; webgpu adds --enable-unsafe-webgpu and ?backend=webgpu,
//   which is SwiftShader's CPU emulation on a machine without a GPU)
import { spawn } from "node:child_process";
import { chromium } from "playwright-core";

const port = Number(process.argv[2] || 18765);
const backend = process.argv[3] || "cpu";
const tokens = String(process.argv[4] || 128);
const nRuns = Number(process.argv[5] || 4);
const threads = process.argv[6] ? `&threads=${process.argv[6]}` : "";
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
  await page.goto(`http://127.0.0.1:${port}/?backend=${backend}${threads}`);
  await page.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 300_000 });
  const loadMs = Date.now() - t0;
  const badge = await page.getByTestId("backend-badge").textContent();
  if ((backend === "webgpu") !== /WebGPU/.test(badge)) throw new Error(`asked for ${backend}, running on ${badge}`);
  await page.fill("#max-tokens", tokens);
  await page.getByTestId("prompt-input").fill("Write a short story about a girl who lost her dog.");
  const runs = [];
  for (let i = 0; i < nRuns; i++) {
    await page.getByTestId("generate-button").click();
    await page.getByTestId("generate-button").and(page.locator(":enabled")).waitFor({ timeout: 300_000 });
    runs.push(JSON.parse(await page.locator("#speed").getAttribute("data-stats")));
  }
  const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const measured = runs.slice(1);
  console.log(JSON.stringify({
    backend,
    threads: measured[0]?.threads ?? 1,
    load_ms: loadMs,
    prompt_tps: median(measured.map((r) => r.promptTokens / (r.promptMs / 1000))),
    decode_tps: median(measured.map((r) => (r.tokens - 1) / (r.decodeMs / 1000))),
  }));
} finally {
  await browser.close();
  server.kill();
}
