// Soak: one tab used as a class period would use it — SOAK_REPLIES replies (20 here; `make
// soak` runs 500) mixing the Readout, Steer (steered beside unsteered), Stop mid-reply,
// conversation turns with New chat, visits to the map, experiments and About, and, where the
// browser has a WebGPU adapter, a device lost and the CPU taking over. After a warm-up, the
// engine's wasm memory, the page's and workers' memory (performance.measureUserAgentSpecificMemory,
// the page being cross-origin isolated), the JS heap after a collection and the DOM's size are
// sampled; the test fails when the wasm memory, the tab's total (wasm and JS) or the DOM grows
// beyond 10 %, or on any console error.
// SOAK_OUT=file writes the samples as JSON.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { useSite } from "./server.mjs";

const REPLIES = Number(process.env.SOAK_REPLIES ?? 20);
const WARMUP = Math.max(8, Math.round(REPLIES / 5));
const site = useSite(["--disable-gpu", "--js-flags=--expose-gc", "--enable-blink-features=ForceEagerMeasureMemory"]);
const PROMPTS = ["Hello!", "Tell me about rain.", "What is a river?", "I lost my keys today.", "Describe a calm lake.", "Why do cats purr?"];
const EMOTIONS = ["calm", "sad", "happy", "afraid", "desperate"];

// The tab's memory now: wasm (the engine's worker), everything the browser attributes to the
// page and its workers, the page's JS heap after a collection, and the DOM's element count.
async function sample(p, replies) {
  return p.evaluate(async (replies) => {
    globalThis.gc?.();
    const wasm = await window.limbic.wasmMemory();
    const ua = self.crossOriginIsolated && performance.measureUserAgentSpecificMemory
      ? (await performance.measureUserAgentSpecificMemory()).bytes : null;
    return { replies, wasm, ua, heap: performance.memory?.usedJSHeapSize ?? null, nodes: document.getElementsByTagName("*").length };
  }, replies);
}

const mib = (b) => (b === null ? "n/a" : `${(b / 2 ** 20).toFixed(1)} MiB`);

test(`${REPLIES} replies across views, steering, Stop and conversations keep memory flat`, { timeout: 600_000 + REPLIES * 20_000 }, async () => {
  const p = await site.browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  p.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  p.on("pageerror", (e) => errors.push(e.message));
  await p.goto(`${site.url}?max=5&temperature=0.7&seed=1`);
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
  const gpu = await p.evaluate(async () => !!(await navigator.gpu?.requestAdapter()));
  const view = async (id) => {
    await p.locator(`nav a[data-view="${id}"]`).click();
    await p.waitForFunction((id) => new URLSearchParams(location.search).get("view") === id, id);
  };
  const reply = async (stop = false) => {
    await p.getByTestId("generate-button").click();
    if (stop) {
      await p.waitForFunction(() => document.querySelector("[data-testid=output-text]")?.textContent.length > 0, null, { timeout: 60_000 });
      await p.getByTestId("stop-button").click();
    }
    await p.locator("#speed").filter({ hasText: stop ? /stopped|tokens\/s \(/ : "tokens/s (" }).waitFor({ timeout: 120_000 });
    await p.getByTestId("generate-button").and(p.locator(":enabled")).waitFor({ timeout: 120_000 });
  };

  // Samples are taken in the same state each time (the Readout after one reply to the same
  // prompt), so they differ only by what the replies before them left behind.
  const settled = async (n) => {
    await view("readout");
    await p.locator("#continue-chat").uncheck();
    await p.getByTestId("prompt-input").fill(PROMPTS[0]);
    await reply();
    return sample(p, n);
  };
  const samples = [];
  let done = 0;
  for (let i = 0; done < REPLIES; i++) {
    const prompt = PROMPTS[i % PROMPTS.length];
    switch (i % 6) {
      case 0: // Readout, a fresh prompt
        await view("readout");
        await p.locator("#continue-chat").uncheck();
        await p.getByTestId("prompt-input").fill(prompt);
        await reply();
        break;
      case 1: // Steer: steered beside unsteered
        await view("steer");
        await p.getByTestId("steer-emotion").selectOption(EMOTIONS[i % EMOTIONS.length]);
        await p.getByTestId("steer-strength").fill(String(((i % 5) - 2) / 10 || 0.1));
        await p.getByTestId("prompt-input").fill(prompt);
        await reply();
        break;
      case 2: // Stop mid-reply
        await p.fill("#max-tokens", "64");
        await reply(true);
        await p.fill("#max-tokens", "5");
        break;
      case 3: // Two conversation turns, then a new chat
        await view("readout");
        await p.locator("#continue-chat").check();
        await p.getByTestId("prompt-input").fill(prompt);
        await reply();
        done += 1;
        await p.getByTestId("prompt-input").fill("And then?");
        await reply();
        await p.locator("#new-chat").click();
        break;
      case 4: // The other views
        for (const id of ["map", "experiments", "about"]) await view(id);
        await p.getByTestId("map-scatter").count();
        await view("readout");
        await p.getByTestId("prompt-input").fill(prompt);
        await reply();
        break;
      case 5: // WebGPU lost mid-reply, the CPU takes over (only with an adapter); else a plain reply
        if (gpu) await p.evaluate(() => window.limbic.loseDevice());
        await reply();
        break;
    }
    done += 1;
    if (done >= WARMUP && (samples.length === 0 || done - samples.at(-1).replies >= Math.max(1, Math.floor(REPLIES / 10)) || done >= REPLIES)) {
      samples.push(await settled(done));
    }
  }
  const [base, last] = [samples[0], samples.at(-1)];
  const peak = (k) => Math.max(...samples.map((s) => s[k] ?? 0));
  console.log(`soak: ${done} replies, WebGPU ${gpu ? "on (device lost every 6th step)" : "absent (no backend switches)"}`);
  for (const k of ["wasm", "ua", "heap"]) console.log(`  ${k}: after warm-up ${mib(base[k])}, end ${mib(last[k])}, peak ${mib(peak(k))}`);
  console.log(`  DOM elements: after warm-up ${base.nodes}, end ${last.nodes}`);
  const perReply = (k) => (last[k] === null ? "n/a" : `${((last[k] - base[k]) / 1024 / Math.max(1, last.replies - base.replies)).toFixed(1)} KiB`);
  console.log(`  growth per reply after warm-up: wasm ${perReply("wasm")}, tab JS ${perReply("ua")}, heap ${perReply("heap")}`);
  if (process.env.SOAK_OUT) writeFileSync(process.env.SOAK_OUT, JSON.stringify({ replies: done, gpu, samples }, null, 1));
  assert.deepEqual(errors, []);
  assert.ok(last.wasm <= base.wasm * 1.1, `wasm memory grew from ${mib(base.wasm)} to ${mib(last.wasm)}`);
  // The tab's memory: the engine's wasm plus the JS side (the browser's measure, else the heap).
  // The JS side is a few MiB that the JIT's code and the browser's performance timeline grow a
  // little at first; a leak in it shows here once it is a tenth of the tab.
  const total = (x) => x.wasm + (x.ua ?? x.heap);
  assert.ok(total(last) <= total(base) * 1.1, `the tab's memory grew from ${mib(total(base))} to ${mib(total(last))}`);
  assert.ok(last.nodes <= base.nodes * 1.1, `the DOM grew from ${base.nodes} to ${last.nodes} elements`);
  await p.close();
});
