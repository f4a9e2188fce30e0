//! Running an experiment: one at a time, the page marked busy meanwhile, each probe a
//! request to the worker answered by id, and a Stop that takes effect between probes (and
//! between generated tokens, through the worker's cancel).

import type { AppEvent } from "../app";
import type { GenerateRequest, ProbeRequest, ProbeResult, ToWorker } from "../engine/protocol";

/** What a job needs from the page: App fits it (tests pass a fake). */
export interface JobHost {
  readonly ready: boolean;
  readonly busy: boolean;
  post(m: ToWorker): void;
  on(l: (e: AppEvent) => void): () => void;
  setBusy(busy: boolean): void;
  layer(): number;
}

/** Thrown inside a job when Stop was pressed; the job's partial results stay shown. */
export class Stopped extends Error {
  constructor() {
    super("stopped");
  }
}

/** A running experiment's handle on the worker. */
export interface JobContext {
  /** Runs one probe at the current readout layer; throws Stopped once Stop is pressed. */
  probe(req: Omit<ProbeRequest, "id" | "layer">): Promise<ProbeResult>;
  /** Generates a reply at the current readout layer, calling `onToken` per token; resolves
   * when it ends. Stop cancels it in the worker (between tokens) and then throws Stopped. */
  generate(req: Omit<GenerateRequest, "layer" | "compare">, onToken: (text: string, scores: Float32Array | null, trace: number | null) => void): Promise<void>;
  /** Throws Stopped once Stop is pressed. */
  check(): void;
  readonly stopped: boolean;
}

export type JobOutcome = "done" | "stopped" | "error";

let nextId = 1;

/** Runs experiments on `host`, one at a time. */
export class Jobs {
  private current: { stop(): void } | null = null;

  constructor(private readonly host: JobHost) {}

  get running(): boolean {
    return this.current !== null;
  }

  /** Stops the running job (no-op when none runs). */
  stop() {
    this.current?.stop();
  }

  /** Runs `job` unless something already runs; resolves to how it ended ("error" with the
   * message passed to `onError`). Returns null when it could not start. */
  async run(job: (ctx: JobContext) => Promise<void>, onError: (message: string) => void): Promise<JobOutcome | null> {
    if (!this.host.ready || this.host.busy || this.current) return null;
    let stopped = false;
    let waiting: { id: number; resolve(r: ProbeResult): void; reject(e: Error): void } | null = null;
    let reply: { onToken(text: string, scores: Float32Array | null, trace: number | null): void; resolve(): void; reject(e: Error): void } | null = null;
    const off = this.host.on((e) => {
      if (waiting && e.type === "probe-result" && e.id === waiting.id) waiting.resolve(e);
      else if (waiting && e.type === "error") waiting.reject(new Error(e.message));
      else if (reply && e.type === "token" && e.run === "main") reply.onToken(e.text, e.scores, e.trace);
      else if (reply && e.type === "done") reply.resolve();
      else if (reply && e.type === "error") reply.reject(new Error(e.message));
    });
    const check = () => { if (stopped) throw new Stopped(); };
    const ctx: JobContext = {
      check,
      get stopped() { return stopped; },
      probe: (req) => {
        check();
        const id = nextId++;
        return new Promise<ProbeResult>((resolve, reject) => {
          waiting = { id, resolve, reject };
          this.host.post({ type: "probe", id, layer: this.host.layer(), ...req });
        }).finally(() => { waiting = null; }).then((r) => { check(); return r; });
      },
      generate: (req, onToken) => {
        check();
        return new Promise<void>((resolve, reject) => {
          reply = { onToken, resolve, reject };
          this.host.post({ type: "generate", ...req, compare: false, layer: this.host.layer() });
        }).finally(() => { reply = null; }).then(check);
      },
    };
    this.current = {
      stop: () => {
        stopped = true;
        if (reply) this.host.post({ type: "cancel" });
      },
    };
    this.host.setBusy(true);
    try {
      await job(ctx);
      return stopped ? "stopped" : "done";
    } catch (err) {
      if (err instanceof Stopped) return "stopped";
      onError(err instanceof Error ? err.message : String(err));
      return "error";
    } finally {
      off();
      this.current = null;
      this.host.setBusy(false);
    }
  }
}
