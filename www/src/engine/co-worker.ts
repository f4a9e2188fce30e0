//! The co-worker: a second wasm instance with its own copy of the model's matrices, in its
//! own Web Worker, computing the share of each large single-token product the engine's worker
//! hands it through a SharedArrayBuffer (src/backend/share.rs). It spins on the request word
//! while requests keep coming, and sleeps in Atomics.wait when they stop.

import type { CoWorker } from "../../../pkg/limbic.js";
import { loadEngineBuild, type Simd } from "./build";
import { CTRL, layout } from "./co-worker-channel";

self.onmessage = async (e: MessageEvent<{ bytes: Uint8Array; sab: SharedArrayBuffer; simd: Simd }>) => {
  const { ctrl, x, out } = layout(e.data.sab);
  let co: CoWorker;
  try {
    const build = await loadEngineBuild(e.data.simd);
    co = new build.CoWorker(e.data.bytes);
  } catch {
    Atomics.store(ctrl, CTRL.ready, -1);
    return;
  }
  Atomics.store(ctrl, CTRL.ready, 1);
  let last = Atomics.load(ctrl, CTRL.req);
  for (;;) {
    for (let spins = 0; Atomics.load(ctrl, CTRL.req) === last; spins++) {
      if (spins > 50_000) {
        Atomics.wait(ctrl, CTRL.req, last, 1000);
        spins = 0;
      }
    }
    last = Atomics.load(ctrl, CTRL.req);
    try {
      const n = ctrl[CTRL.nOut]!;
      co.compute(ctrl[CTRL.id]!, x.subarray(0, ctrl[CTRL.nX]!), ctrl[CTRL.row0]!, out.subarray(0, n));
      ctrl[CTRL.status] = 0;
    } catch {
      ctrl[CTRL.status] = 1;
    }
    Atomics.store(ctrl, CTRL.done, last);
  }
};
