import { expect, test } from "vitest";
import type { AppEvent } from "../app";
import type { ToWorker } from "../engine/protocol";
import { Jobs, type JobHost } from "./jobs";

/** A worker stand-in: answers each probe with its id, records what was posted. */
function fakeHost() {
  const listeners = new Set<(e: AppEvent) => void>();
  const posted: ToWorker[] = [];
  const busy: boolean[] = [];
  const host: JobHost & { posted: ToWorker[]; busyLog: boolean[]; emit(e: AppEvent): void } = {
    ready: true,
    busy: false,
    posted,
    busyLog: busy,
    layer: () => 21,
    setBusy(b) { (this as { busy: boolean }).busy = b; busy.push(b); },
    on(l) { listeners.add(l); return () => listeners.delete(l); },
    emit(e) { for (const l of [...listeners]) l(e); },
    post(m) {
      posted.push(m);
      if (m.type === "probe") {
        queueMicrotask(() => host.emit({ type: "probe-result", id: m.id, promptTokens: 3, scores: new Float32Array([1, 2]), probs: new Float32Array([0.5]), wordTokens: ["A"], trace: new Float32Array(0) }));
      }
    },
  };
  return host;
}

test("a job's probes carry the layer and get their own answers; busy is set and cleared", async () => {
  const host = fakeHost();
  const jobs = new Jobs(host);
  const seen: number[] = [];
  const outcome = await jobs.run(async (ctx) => {
    for (let i = 0; i < 3; i++) seen.push((await ctx.probe({ prompt: "p", chat: true, steer: [], words: ["A"] })).probs[0]!);
  }, () => {});
  expect(outcome).toBe("done");
  expect(seen).toEqual([0.5, 0.5, 0.5]);
  expect(host.posted.every((m) => m.type === "probe" && m.layer === 21)).toBe(true);
  expect(new Set(host.posted.map((m) => (m as { id: number }).id)).size).toBe(3);
  expect(host.busyLog).toEqual([true, false]);
});

test("Stop ends a job between probes; a second job cannot start while one runs", async () => {
  const host = fakeHost();
  const jobs = new Jobs(host);
  let done = 0;
  const first = jobs.run(async (ctx) => {
    for (let i = 0; i < 10; i++) {
      await ctx.probe({ prompt: "p", chat: false, steer: [], words: [] });
      done++;
      if (done === 2) jobs.stop();
    }
  }, () => {});
  expect(await jobs.run(async () => {}, () => {})).toBeNull();
  expect(await first).toBe("stopped");
  expect(done).toBe(2);
  expect(host.busy).toBe(false);
});

test("a worker error fails the job with its message", async () => {
  const host = fakeHost();
  host.post = (m) => { host.posted.push(m); queueMicrotask(() => host.emit({ type: "error", message: "boom" })); };
  const jobs = new Jobs(host);
  let message = "";
  const outcome = await jobs.run(async (ctx) => { await ctx.probe({ prompt: "p", chat: false, steer: [], words: [] }); }, (m) => { message = m; });
  expect(outcome).toBe("error");
  expect(message).toBe("boom");
  expect(host.busy).toBe(false);
});

test("Stop during a reply cancels it in the worker; tokens before it were delivered", async () => {
  const host = fakeHost();
  const jobs = new Jobs(host);
  const tokens: string[] = [];
  const run = jobs.run(async (ctx) => {
    await ctx.generate({ prompt: "p", chat: true, maxTokens: 5, temperature: 0, topP: 1, seed: 1, steer: [] }, (t) => tokens.push(t));
  }, () => {});
  host.emit({ type: "token", run: "main", id: 1, text: "Hi", scores: null, trace: null });
  jobs.stop();
  expect(host.posted.map((m) => m.type)).toEqual(["generate", "cancel"]);
  expect(host.posted[0]).toMatchObject({ compare: false, layer: 21, maxTokens: 5 });
  host.emit({ type: "done", reason: "cancelled", stats: null });
  expect(await run).toBe("stopped");
  expect(tokens).toEqual(["Hi"]);
});
