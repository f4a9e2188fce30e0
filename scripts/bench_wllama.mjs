// The browser peer for `make bench-web`: wllama (llama.cpp compiled to wasm, npm
// @wllama/wllama) on the same GGUF, in the same headless Chromium (playwright-core,
// /usr/bin/chromium), same ChatML prompt and greedy token count, CPU only. Served with
// COOP/COEP so it can use its wasm threads. Prints, as its last line,
// {"engine":"wllama","threads","load_ms","prompt_tps","decode_tps"} (llama.cpp's own timings;
// medians of the runs after one warm-up).
// Usage: node scripts/bench_wllama.mjs [port] [threads] [tokens] [runs] [model file in models/]
// (another model than SmolLM2: the request as the plain transcript limbic writes for a model
// without a chat template, BOS first as its file asks: Gemma 3 270M).
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const port = Number(process.argv[2] || 18767);
const threads = Number(process.argv[3] || 2);
const tokens = Number(process.argv[4] || 128);
const nRuns = Number(process.argv[5] || 4);
const MODEL = process.argv[6] || "SmolLM2-135M-Instruct.Q4_1.gguf";
const REQUEST = "Write a short story about a girl who lost her dog.";
// The ChatML wrapping limbic's chat prompts use (src/tokenizer.rs, chat_prompt); for another
// model, limbic's plain transcript (src/chat.rs, ChatTemplate::transcript).
const PROMPT = MODEL.startsWith("SmolLM2")
  ? "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
    `<|im_start|>user\n${REQUEST}<|im_end|>\n<|im_start|>assistant\n`
  : `User: ${REQUEST}\n\nAssistant:`;

const mounts = {
  "/wllama/": join(root, "node_modules/@wllama/wllama/esm"),
  "/models/": join(root, "models"),
};
const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
const page = `<!doctype html><meta charset="utf-8"><title>wllama bench</title><p id="s">loading</p>`;

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
  if (path === "/") {
    res.setHeader("Content-Type", "text/html");
    return res.end(page);
  }
  for (const [prefix, dir] of Object.entries(mounts)) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) break;
    res.setHeader("Content-Type", types[extname(file)] || "application/octet-stream");
    return createReadStream(file).pipe(res);
  }
  res.statusCode = 404;
  res.end();
});
await new Promise((ok) => server.listen(port, "127.0.0.1", ok));

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"],
});
try {
  const tab = await browser.newPage();
  tab.on("console", (m) => m.type() === "error" && console.error("page:", m.text()));
  await tab.goto(`http://127.0.0.1:${port}/`);
  const result = await tab.evaluate(
    async ({ model, threads, tokens, nRuns, prompt }) => {
      const { Wllama } = await import("/wllama/index.js");
      const wllama = new Wllama({ default: "/wllama/wasm/wllama.wasm" }, { suppressNativeLog: true });
      const t0 = performance.now();
      await wllama.loadModelFromUrl(`/models/${model}`, { n_threads: threads, n_ctx: 1024, n_gpu_layers: 0 });
      const loadMs = performance.now() - t0;
      const runs = [];
      for (let i = 0; i < nRuns; i++) {
        const r = await wllama.createCompletion({
          prompt, max_tokens: tokens, temperature: 0, cache_prompt: false,
        });
        runs.push(r.timings);
      }
      return { loadMs, runs, isolated: self.crossOriginIsolated, threads: wllama.getNumThreads?.() };
    },
    { model: MODEL, threads, tokens, nRuns, prompt: PROMPT },
  );
  const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const measured = result.runs.slice(1);
  console.log(JSON.stringify({
    engine: "wllama",
    model: MODEL,
    threads: result.threads ?? threads,
    cross_origin_isolated: result.isolated,
    load_ms: Math.round(result.loadMs),
    prompt_tps: median(measured.map((t) => t.prompt_per_second)),
    decode_tps: median(measured.map((t) => t.predicted_per_second)),
    decode_tokens: measured[0]?.predicted_n,
  }));
} finally {
  await browser.close();
  server.close();
}
