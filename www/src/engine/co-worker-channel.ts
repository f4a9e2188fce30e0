//! The engine's worker's side of the co-worker (co-worker.ts): a SharedArrayBuffer with a few
//! control words, the input row and the output rows, and the handle the wasm engine calls
//! (`begin` / `finish`, see src/backend/share.rs). Needs cross-origin isolation; without it
//! the engine runs on one thread.

/** Control words (Int32 indices). */
export const CTRL = { req: 0, done: 1, id: 2, row0: 3, nX: 4, nOut: 5, status: 6, ready: 7 } as const;
const CTRL_BYTES = 64;
/** Widest input row (the FFN's 1536) and most output rows (half the 49152-row vocabulary). */
export const MAX_X = 4096;
export const MAX_OUT = 32768;
/** How long the engine waits for its co-worker before computing the rows itself. */
const TIMEOUT_MS = 2000;

export function layout(sab: SharedArrayBuffer) {
  return {
    ctrl: new Int32Array(sab, 0, CTRL_BYTES / 4),
    x: new Float32Array(sab, CTRL_BYTES, MAX_X),
    out: new Float32Array(sab, CTRL_BYTES + MAX_X * 4, MAX_OUT),
  };
}

export function newShared(): SharedArrayBuffer {
  return new SharedArrayBuffer(CTRL_BYTES + (MAX_X + MAX_OUT) * 4);
}

/** What the engine calls: hands rows to the co-worker and collects them. */
export class CoWorkerLink {
  /** Products the co-worker has completed. */
  shared = 0;
  private seq: number;
  private readonly ctrl: Int32Array;
  private readonly x: Float32Array;
  private readonly out: Float32Array;

  constructor(sab: SharedArrayBuffer) {
    ({ ctrl: this.ctrl, x: this.x, out: this.out } = layout(sab));
    this.seq = Atomics.load(this.ctrl, CTRL.req);
  }

  /** Whether the co-worker has loaded its model (−1: it failed). */
  state(): number {
    return Atomics.load(this.ctrl, CTRL.ready);
  }

  begin(id: number, x: Float32Array, row0: number, n: number): boolean {
    if (this.state() !== 1 || x.length > MAX_X || n > MAX_OUT) return false;
    this.x.set(x);
    this.ctrl[CTRL.id] = id;
    this.ctrl[CTRL.row0] = row0;
    this.ctrl[CTRL.nX] = x.length;
    this.ctrl[CTRL.nOut] = n;
    this.seq = (this.seq + 1) | 0;
    Atomics.store(this.ctrl, CTRL.req, this.seq);
    Atomics.notify(this.ctrl, CTRL.req);
    return true;
  }

  finish(out: Float32Array): boolean {
    const t0 = performance.now();
    for (let i = 1; Atomics.load(this.ctrl, CTRL.done) !== this.seq; i++) {
      if ((i & 4095) === 0 && performance.now() - t0 > TIMEOUT_MS) return false;
    }
    if (this.ctrl[CTRL.status] !== 0) return false;
    out.set(this.out.subarray(0, out.length));
    this.shared += 1;
    return true;
  }
}
