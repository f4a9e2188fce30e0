import { afterEach, describe, expect, it, vi } from "vitest";
import { checkSize } from "../model-menu";
import { choose, MAX_MODEL_BYTES } from "../models";
import { COMPARE_DEFAULTS, defaultState, parseSide, parseUrl, toQuery } from "../share/url-state";
import { reportUrlFor, summaryRows } from "./compare-side";
import { intervalText, summariseReport } from "./report";
import text from "../../../docs/validation/report.json?raw";

const BASE = "http://localhost/limbic/";
const VIEWS = ["readout", "compare"];

describe("?a= and ?b=", () => {
  it("default to SmolLM2 and Gemma 3 270M", () => {
    expect(COMPARE_DEFAULTS).toEqual(["smollm2-135m-instruct", "gemma-3-270m"]);
    const s = parseUrl("?view=compare", VIEWS, BASE).state;
    expect([s.view, s.compareA, s.compareB]).toEqual(["compare", "smollm2-135m-instruct", "gemma-3-270m"]);
  });

  it("read ids and addresses as ?model= does; anything else is the side's default, with a warning", () => {
    expect(parseSide("GEMMA-3-270M", "a", BASE)).toEqual({ model: "gemma-3-270m" });
    expect(parseSide("https://x.org/m.gguf", "b", BASE)).toEqual({ model: "https://x.org/m.gguf" });
    expect(parseSide(" ", "b", BASE)).toEqual({ model: "gemma-3-270m" });
    const bad = parseSide("javascript:alert(1)", "b", BASE);
    expect(bad.model).toBe("gemma-3-270m");
    expect(bad.warning).toMatch(/^ignored b="javascript:alert\(1\)": not one of smollm2-135m-instruct, gemma-3-270m/);
    const p = parseUrl("?view=compare&a=ftp://x/y.gguf", VIEWS, BASE);
    expect(p.state.compareA).toBe("smollm2-135m-instruct");
    expect(p.warnings[0]).toMatch(/^ignored a=/);
  });

  it("links carry them only when they differ from the defaults, and read back", () => {
    expect(toQuery({ ...defaultState(), view: "compare" })).not.toMatch(/(^|&)(a|b)=/);
    const s = { ...defaultState(), view: "compare", compareA: "gemma-3-270m", compareB: "https://x.org/m.gguf" };
    const back = parseUrl(`?${toQuery(s)}`, VIEWS, BASE);
    expect(back.warnings).toEqual([]);
    expect(back.state).toEqual(s);
  });
});

describe("validation summary", () => {
  const raw = JSON.parse(text) as Record<string, unknown>;

  it("reads SmolLM2's report: layer, test top-1/top-5 with intervals, valence/arousal |r|, intensity AUC", () => {
    const s = summariseReport(raw);
    expect(s.layer).toBe(raw.default_layer);
    const fit = (raw.accuracy as { test: { fit: { top1: { mean: number; lo: number; hi: number } } } }).test.fit;
    expect(s.top1).toEqual(fit.top1);
    expect(s.top5!.lo).toBeLessThanOrEqual(s.top5!.mean);
    const c = (raw.geometry as { correlations: { pc_valence_r: number[]; pc_arousal_r: number[] } }).correlations;
    expect(s.valence).toBe(Math.max(...c.pc_valence_r.map(Math.abs)));
    expect(s.arousal).toBe(Math.max(...c.pc_arousal_r.map(Math.abs)));
    expect(s.auc).toBe((raw.per_token as { auc_intensity: number }).auc_intensity);
    const rows = summaryRows(s);
    expect(rows.map(([k]) => k)).toEqual([
      "readout layer", "test top-1 (95 % interval)", "test top-5 (95 % interval)", "valence |r| (best PC)", "arousal |r| (best PC)",
      "intensity AUC (emotional vs neutral tokens)",
    ]);
    expect(rows[1]![1]).toBe(intervalText(fit.top1));
  });

  it("leaves out what an older or smaller report lacks, and refuses what is not a report", () => {
    const s = summariseReport({ default_layer: 9, accuracy: {} });
    expect(s).toEqual({ layer: 9, top1: null, top5: null, valence: null, arousal: null, auc: null });
    expect(summaryRows(s).slice(1).every(([, v]) => v === "—")).toBe(true);
    expect(() => summariseReport([1])).toThrow("not a JSON object");
    expect(() => summariseReport({ default_layer: "9" })).toThrow("default_layer is not a number");
  });

  it("an interval reads as a share with its range", () => {
    expect(intervalText({ mean: 0.458, lo: 0.415, hi: 0.501 })).toBe("45.8 % (41.5–50.1 %)");
  });

  it("finds each model's report in the build: SmolLM2's always, Gemma's once written, none for another GGUF", () => {
    expect(reportUrlFor(choose("smollm2-135m-instruct", null))).toMatch(/report\.json/);
    const gemma = reportUrlFor(choose("gemma-3-270m", null));
    if (Object.keys(import.meta.glob("../../../docs/validation/gemma-3-270m/report.json")).length) expect(gemma).toMatch(/report\.json/);
    else expect(gemma).toBeNull();
    expect(reportUrlFor(choose("https://x.org/m.gguf", null))).toBeNull();
  });
});

describe("a side's size before it loads (checkSize, shared with the model menu)", () => {
  afterEach(() => { vi.unstubAllGlobals(); });
  /** A server that answers HEAD with `length` as Content-Length (none when null); the addresses asked. */
  const server = (length: string | null, ok = true) => {
    const asked: string[] = [];
    vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
      asked.push(`${init?.method ?? "GET"} ${url}`);
      return new Response(null, { status: ok ? 200 : 404, headers: length === null ? {} : { "content-length": length } });
    });
    return asked;
  };

  it("an entry's size is known without asking", async () => {
    const asked = server("1");
    const c = choose("smollm2-135m-instruct", null);
    expect(await checkSize(c, BASE)).toEqual({ bytes: c.bytes, refused: "" });
    expect(asked).toEqual([]);
  });

  it("an address asks the server (HEAD), relative to the page; too large is refused with the size", async () => {
    const asked = server("5000000000");
    const r = await checkSize(choose("models/huge.gguf", null), BASE);
    expect(asked).toEqual(["HEAD http://localhost/limbic/models/huge.gguf"]);
    expect(r.bytes).toBe(5e9);
    expect(r.refused).toMatch(/^huge\.gguf is 5\.00 GB: too large for this tab\./);
    server(String(MAX_MODEL_BYTES));
    expect((await checkSize(choose("https://x.org/m.gguf", null), BASE)).refused).toBe("");
  });

  it("a server that does not say (no Content-Length, an error, no answer) leaves the size unknown and lets it load", async () => {
    server(null);
    expect(await checkSize(choose("https://x.org/m.gguf", null), BASE)).toEqual({ bytes: null, refused: "" });
    server("5000000000", false);
    expect(await checkSize(choose("https://x.org/m.gguf", null), BASE)).toEqual({ bytes: null, refused: "" });
    vi.stubGlobal("fetch", async () => { throw new TypeError("Failed to fetch"); });
    expect(await checkSize(choose("https://x.org/m.gguf", null), BASE)).toEqual({ bytes: null, refused: "" });
  });
});
