import { describe, expect, test } from "vitest";
import { DEFAULT_MODEL, MODELS } from "./config";
import {
  choose, chooseFile, extractCommand, fileName, formatBytes, isAddress, MAX_MODEL_BYTES, parseModel, parseVectors,
  roughBytes, runningBytes, sizeNote, tooLarge,
} from "./models";
import { defaultState, parseUrl, toQuery } from "./share/url-state";

const BASE = "http://127.0.0.1:8080/";
const VIEWS = ["readout", "steer"];
const GEMMA = MODELS.find((m) => m.id === "gemma-3-270m")!;

describe("?model= and ?vectors=", () => {
  test("none, or empty, is the default model with the entry's own vectors", () => {
    expect(parseModel(null, BASE)).toEqual({ model: DEFAULT_MODEL.id });
    expect(parseModel("  ", BASE)).toEqual({ model: DEFAULT_MODEL.id });
    expect(parseVectors(null, BASE)).toEqual({ vectors: null });
  });

  test("a menu id, in any case", () => {
    expect(parseModel("gemma-3-270m", BASE)).toEqual({ model: "gemma-3-270m" });
    expect(parseModel(" Gemma-3-270M ", BASE)).toEqual({ model: "gemma-3-270m" });
  });

  test("an http(s) address, absolute or relative to the page, is kept as given", () => {
    expect(parseModel("https://example.org/m/mamba.gguf", BASE)).toEqual({ model: "https://example.org/m/mamba.gguf" });
    expect(parseModel("models/other.gguf", BASE)).toEqual({ model: "models/other.gguf" });
    expect(parseVectors("data/vectors/other.safetensors", BASE)).toEqual({ vectors: "data/vectors/other.safetensors" });
  });

  test("other schemes and junk fall back to the default with a warning", () => {
    for (const raw of ["javascript:alert(1)", "data:,x", "file:///etc/passwd", "x".repeat(3000)]) {
      const r = parseModel(raw, BASE);
      expect(r.model).toBe(DEFAULT_MODEL.id);
      expect(r.warning).toMatch(/^ignored model=".*": not one of smollm2-135m-instruct, gemma-3-270m, nor an http\(s\) address$/);
    }
    expect(parseVectors("javascript:1", BASE)).toEqual({ vectors: null, warning: 'ignored vectors="javascript:1": not an http(s) address' });
    expect(isAddress("", BASE)).toBe(false);
  });

  test("links carry a model other than the default, and vectors given instead of the entry's", () => {
    const s = { ...defaultState(), model: "https://example.org/a b.gguf", vectors: "https://example.org/v.safetensors" };
    const back = parseUrl(`?${toQuery(s)}`, VIEWS, BASE);
    expect(back.warnings).toEqual([]);
    expect(back.state).toEqual(s);
    expect(toQuery(defaultState())).not.toMatch(/model=|vectors=/);
    expect(toQuery({ ...defaultState(), model: "gemma-3-270m" })).toMatch(/(^|&)model=gemma-3-270m(&|$)/);
    // A file from this computer: no link carries it.
    expect(toQuery({ ...defaultState(), model: "" })).not.toMatch(/model=/);
  });
});

describe("the choice", () => {
  test("a menu entry: its file, hash, size and vectors; vectors from a link replace its own", () => {
    const c = choose("gemma-3-270m", null);
    expect(c).toMatchObject({ entry: GEMMA, url: GEMMA.url, sha256: GEMMA.sha256, bytes: 253_113_024, vectorsUrl: "data/vectors/gemma-3-270m.safetensors", link: "gemma-3-270m", vectorsLink: null });
    expect(choose("gemma-3-270m", "v.safetensors")).toMatchObject({ vectorsUrl: "v.safetensors", vectorsLink: "v.safetensors" });
  });

  test("an address: named by its file, no hash, size unknown, no vectors unless given", () => {
    const c = choose("https://example.org/m/mamba-130m.Q8_0.gguf?download=1", null);
    expect(c).toMatchObject({ entry: null, name: "mamba-130m.Q8_0.gguf", sha256: null, bytes: null, vectorsUrl: null, link: "https://example.org/m/mamba-130m.Q8_0.gguf?download=1" });
    expect(fileName("https://example.org/m/a%20b.gguf#x")).toBe("a b.gguf");
  });

  test("a local file: its size is known, no link carries it", () => {
    const f = new File([new Uint8Array(10)], "tiny.gguf");
    const c = chooseFile(f, "v.safetensors", null);
    expect(c).toMatchObject({ url: null, file: f, bytes: 10, link: "", vectorsUrl: "v.safetensors" });
    const v = new File([new Uint8Array(3)], "v.safetensors");
    expect(chooseFile(f, "ignored", v)).toMatchObject({ vectorsUrl: null, vectorsFile: v, vectorsLink: null });
  });
});

describe("what fits this tab", () => {
  test("files up to (4 GiB − room) / 2 load; larger ones are refused with their size and why", () => {
    expect(MAX_MODEL_BYTES).toBe(Math.floor((4 * 2 ** 30 - 256 * 2 ** 20) / 2));
    expect(tooLarge("x", 253_113_024)).toBeNull();
    expect(tooLarge("x", MAX_MODEL_BYTES)).toBeNull();
    expect(tooLarge("big.gguf", 5e9)).toBe("big.gguf is 5.00 GB: too large for this tab. While it loads, the engine needs about twice the file (10.00 GB) in WebAssembly memory, which holds 4 GiB at most: files up to 2.01 GB load here.");
    expect(tooLarge("x", MAX_MODEL_BYTES + 1)).toMatch(/too large/);
  });

  test("the size note says the size before the download, and what is not checked", () => {
    expect(sizeNote(choose(DEFAULT_MODEL.id, null), DEFAULT_MODEL.bytes)).toBe(
      "The model is a ~100 MB download (98.4 MB), once (this browser keeps it), and uses about 300 MB of memory while it runs.");
    expect(sizeNote(choose("gemma-3-270m", null), GEMMA.bytes)).toMatch(/^The model is a ~250 MB download \(253\.1 MB\), once .* about 600 MB of memory/);
    const url = choose("https://example.org/x.gguf", null);
    expect(sizeNote(url, 1.5e9)).toBe("x.gguf is a ~1.5 GB download (1.50 GB), kept in this browser under its address, and uses about 3.1 GB of memory while it runs. It has no known SHA-256, so it is not checked.");
    expect(sizeNote(url, null)).toMatch(/^The server does not say how large x\.gguf is: it downloads until 2\.01 GB/);
    expect(sizeNote(chooseFile(new File([new Uint8Array(5)], "t.gguf"), null, null), 5)).toMatch(/^t\.gguf is a 0\.0 MB file from this computer \(read here, never uploaded or kept\)/);
  });

  test("rough sizes and memory", () => {
    expect([roughBytes(98_362_432), roughBytes(253e6), roughBytes(12e6), roughBytes(2.2e9)]).toEqual(["~100 MB", "~250 MB", "~12 MB", "~2.2 GB"]);
    expect(runningBytes(98_362_432)).toBe(300e6);
    expect(formatBytes(178_257_920)).toBe("178.3 MB");
  });

});

test("the extract line names the model's file and the vectors file the page looks for", () => {
  expect(extractCommand(choose("gemma-3-270m", null))).toBe("limbic extract --model models/gemma-3-270m.Q4_K_M.gguf --out data/vectors/gemma-3-270m.safetensors");
  expect(extractCommand(choose("https://x.org/Mamba-130M.Q8_0.gguf", null))).toBe("limbic extract --model Mamba-130M.Q8_0.gguf --out data/vectors/mamba-130m.safetensors");
});
