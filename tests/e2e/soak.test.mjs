// Soak: one tab used as a class period would use it — SOAK_REPLIES replies (20 here; `make
// soak` runs 500) mixing the Readout, Steer (steered beside unsteered), Stop mid-reply,
// conversation turns with New chat, visits to the map, experiments and About, and backend
// changes: where the browser has a WebGPU adapter (Debian's Chromium with
// --enable-unsafe-webgpu: SwiftShader), the model moves to WebGPU in place, replies there,
// loses its device mid-reply (the CPU finishes the reply), and the CPU takes over with the
// co-worker (two threads, the page being cross-origin isolated) before going back to one
// thread; without an adapter the cycle runs the co-worker alone. (The moves are in place,
// through the worker's `set-backend`: `window.limbic.setBackend`.) After every move to the CPU
// the worker must hold no open WebGPU device (src/backend/gpu/device.rs counts them), and the
// engine's wasm memory after each cycle must not exceed the last one's by 10 %. (The short
// run loses the device before its WebGPU reply and has no co-worker: see LONG.)
// After a warm-up, the engine's wasm memory, the page's and workers' memory
// (performance.measureUserAgentSpecificMemory), the JS heap after a collection and the DOM's
// size are sampled; the test fails when the wasm memory, the tab's total (wasm and JS) or the
// DOM grows beyond 10 %, or on any console error.
// SOAK_OUT=file writes the samples as JSON. SOAK_SWITCHES: backend cycles (default one per
// 125 replies, at least 1; in `make soak` each costs ~70 s of SwiftShader).
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { useSite } from "./server.mjs";

const REPLIES = Number(process.env.SOAK_REPLIES ?? 20);
const WARMUP = Math.max(8, Math.round(REPLIES / 5));
const SWITCHES = Number(process.env.SOAK_SWITCHES ?? Math.max(1, Math.floor(REPLIES / 125)));
// SwiftShader compiles the kernels on a new device's first reply (~35 s each), and two threads
// spinning on this 2-core machine starve the page (~30 s a reply): the short run loses the
// device before its reply and leaves the co-worker to `make soak` (and threads.test.mjs).
const LONG = REPLIES >= 100;
const GPU_REPLIES = LONG ? 1 : 0;
const site = useSite(["--enable-unsafe-webgpu", "--js-flags=--expose-gc", "--enable-blink-features=ForceEagerMeasureMemory"]);
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
  // On 2 busy cores the page can stall for tens of seconds (SwiftShader's compiles, two
  // spinning threads): slow is not what this test measures.
  p.setDefaultTimeout(120_000);
  const errors = [];
  p.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  p.on("pageerror", (e) => errors.push(e.message));
  // On the CPU with one thread: the backend cycle below moves it and brings it back.
  await p.goto(`${site.url}?max=5&temperature=0.7&seed=1&backend=cpu&threads=1`);
  await p.getByTestId("model-status").filter({ hasText: "ready" }).waitFor({ timeout: 180_000 });
  const gpu = await p.evaluate(async () => !!(await navigator.gpu?.requestAdapter()));
  const view = async (id) => {
    await p.locator(`nav a[data-view="${id}"]`).click();
    await p.waitForFunction((id) => new URLSearchParams(location.search).get("view") === id, id);
  };
  const engine = () => p.evaluate(() => window.limbic.engineState());
  const setBackend = async (backend, threads) => {
    assert.equal(await p.evaluate(([b, t]) => window.limbic.setBackend(b, t), [backend, threads]), backend);
    await p.getByTestId("backend-badge").filter({ hasText: backend === "cpu" ? "CPU" : "WebGPU" }).waitFor();
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
  // WebGPU (where there is an adapter) and back, then the co-worker: returns the replies run.
  // After each move to the CPU, no WebGPU device is open and the wasm memory is what the
  // previous cycle left (the old engine's memory serves the new one).
  const cpuMemory = [];
  const backendCycle = async () => {
    let n = 0;
    const t0 = Date.now();
    const lap = (what) => console.log(`  cycle ${cycles + 1}: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await view("readout");
    await p.locator("#continue-chat").uncheck();
    if (gpu) {
      await setBackend("webgpu");
      lap("on WebGPU");
      const on = await engine();
      assert.deepEqual([on.backend, on.gpuLive, on.gpuDevices], ["webgpu", true, 1], "one open device on WebGPU");
      // Lost mid-reply (after a whole reply on WebGPU), or in the short run before the reply
      // starts: the CPU finishes it, says so, and the device is gone.
      if (GPU_REPLIES) {
        await reply();
        n += 1;
      }
      await p.fill("#max-tokens", "64");
      await p.getByTestId("generate-button").click();
      if (GPU_REPLIES) await p.waitForFunction(() => document.querySelector("[data-testid=output-text]")?.textContent.length > 0, null, { timeout: 300_000 });
      await p.evaluate(() => window.limbic.loseDevice());
      await p.getByTestId("generate-button").and(p.locator(":enabled")).waitFor({ timeout: 300_000 });
      await p.getByTestId("backend-badge").filter({ hasText: "CPU" }).waitFor();
      await p.fill("#max-tokens", "5");
      assert.match(await p.locator("#fallback").textContent(), /webgpu/i);
      lap("WebGPU replies and loss");
      const lost = await engine();
      assert.deepEqual([lost.backend, lost.gpuLive, lost.gpuDevices], ["cpu", false, 0], "no open device after the loss");
      n += 1;
    }
    // Two threads: the co-worker joins once it has loaded its copy of the model.
    if (LONG) {
      await setBackend("cpu", 2);
      assert.equal(await p.locator("#fallback").textContent(), "", "the fallback notice is cleared");
      while ((await engine()).threads !== 2) await p.waitForTimeout(200);
      lap("co-worker joined");
      assert.match(await p.getByTestId("model-status").textContent(), /ready/);
      await reply();
      n += 1;
      assert.match(await p.locator("#speed").textContent(), /2 threads/);
    }
    await setBackend("cpu", 1);
    assert.equal(await p.locator("#fallback").textContent(), "", "the fallback notice is cleared");
    assert.match(await p.getByTestId("model-status").textContent(), /ready/);
    lap("back on one thread");
    const back = await engine();
    assert.deepEqual([back.backend, back.gpuLive, back.gpuDevices], ["cpu", false, 0], "no open device back on the CPU");
    cpuMemory.push(back.wasmBytes);
    return n;
  };
  const samples = [];
  let done = 0;
  let cycles = 0;
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
      case 5: // Backend changes, SWITCHES times spread over the run; else a plain reply
        if (cycles < SWITCHES && i >= (cycles * REPLIES) / SWITCHES) {
          done += (await backendCycle()) - 1;
          cycles += 1;
        } else {
          await reply();
        }
        break;
    }
    done += 1;
    if (done >= WARMUP && (samples.length === 0 || done - samples.at(-1).replies >= Math.max(1, Math.floor(REPLIES / 10)) || done >= REPLIES)) {
      samples.push(await settled(done));
    }
  }
  const [base, last] = [samples[0], samples.at(-1)];
  const peak = (k) => Math.max(...samples.map((s) => s[k] ?? 0));
  const steps = [gpu && (GPU_REPLIES ? "WebGPU, lost mid-reply" : "WebGPU, lost before its reply"), LONG && "CPU with 2 threads", "1 thread"];
  console.log(`soak: ${done} replies, ${cycles} backend cycles (${steps.filter(Boolean).join(", ")})`);
  console.log(`  wasm memory after each cycle: ${cpuMemory.map(mib).join(", ")}`);
  for (const k of ["wasm", "ua", "heap"]) console.log(`  ${k}: after warm-up ${mib(base[k])}, end ${mib(last[k])}, peak ${mib(peak(k))}`);
  console.log(`  DOM elements: after warm-up ${base.nodes}, end ${last.nodes}`);
  const perReply = (k) => (last[k] === null ? "n/a" : `${((last[k] - base[k]) / 1024 / Math.max(1, last.replies - base.replies)).toFixed(1)} KiB`);
  console.log(`  growth per reply after warm-up: wasm ${perReply("wasm")}, tab JS ${perReply("ua")}, heap ${perReply("heap")}`);
  if (process.env.SOAK_OUT) writeFileSync(process.env.SOAK_OUT, JSON.stringify({ replies: done, gpu, cycles, cpuMemory, samples }, null, 1));
  assert.deepEqual(errors, []);
  assert.equal(cycles, SWITCHES, "every backend cycle ran");
  for (let k = 1; k < cpuMemory.length; k++) {
    assert.ok(cpuMemory[k] <= cpuMemory[k - 1] * 1.1, `wasm memory grew across backend cycles: ${cpuMemory.map(mib).join(", ")}`);
  }
  assert.ok(last.wasm <= base.wasm * 1.1, `wasm memory grew from ${mib(base.wasm)} to ${mib(last.wasm)}`);
  // The tab's memory: the engine's wasm plus the JS side (the browser's measure, else the heap).
  // The JS side is a few MiB that the JIT's code and the browser's performance timeline grow a
  // little at first; a leak in it shows here once it is a tenth of the tab.
  const total = (x) => x.wasm + (x.ua ?? x.heap);
  assert.ok(total(last) <= total(base) * 1.1, `the tab's memory grew from ${mib(total(base))} to ${mib(total(last))}`);
  assert.ok(last.nodes <= base.nodes * 1.1, `the DOM grew from ${base.nodes} to ${last.nodes} elements`);
  await p.close();
});
