import { describe, expect, test } from "vitest";
import { checkNames, defaultState, MAX_PROMPT_CHARS, parseUrl, toQuery, TOP } from "./url-state";

const VIEWS = ["readout", "steer", "map", "experiments", "about"];
const NAMES = ["afraid", "calm", "sad", "happy", "at ease"];

/** Parse a query and check it against NAMES, as the page does once the vectors are loaded. */
function full(search: string) {
  const p = parseUrl(search, VIEWS);
  const c = checkNames(p.state, p.steerText, NAMES, 30);
  return { state: c.state, warnings: [...p.warnings, ...c.warnings] };
}

describe("URL state", () => {
  test("no query gives the defaults and no warnings", () => {
    expect(full("")).toEqual({ state: defaultState(), warnings: [] });
  });

  test("every field round-trips through toQuery", () => {
    const s = {
      ...defaultState(), view: "steer", prompt: "How are you? 100% & <ok>", layer: 18, emotion: "calm",
      track: ["afraid", "at ease"], seed: 7, temperature: 0.7, maxTokens: 64, backend: "cpu" as const, autorun: true,
      steer: [{ name: "sad", strength: 0.1 }, { name: "calm", strength: -0.2 }, { name: "at ease", strength: 0.35 }],
    };
    const back = full(`?${toQuery(s)}`);
    expect(back.warnings).toEqual([]);
    expect(back.state).toEqual(s);
  });

  test("three steers from a link, in order", () => {
    const { state, warnings } = full("?steer=afraid:0.1,calm:0.2,sad:0.3");
    expect(warnings).toEqual([]);
    expect(state.steer).toEqual([{ name: "afraid", strength: 0.1 }, { name: "calm", strength: 0.2 }, { name: "sad", strength: 0.3 }]);
    expect(state.view).toBe("steer"); // a steered link without a view opens Steer
  });

  test("hostile and broken values are dropped or clamped with a warning, never thrown", () => {
    const evil = `<img src=x onerror="alert(1)">`;
    const q = new URLSearchParams({
      view: "<script>", prompt: evil, steer: `<b>x</b>:1,sad:NaN,calm:9,happy:0.2,afraid:0.1`,
      layer: "99", emotion: "__proto__", track: "constructor,calm", seed: "-5", temperature: "Infinity",
      max: "1e9", backend: "quantum", autorun: "yes",
    });
    const { state, warnings } = full(`?${q}`);
    expect(state.prompt).toBe(evil); // kept as text; the page renders it with textContent
    expect(state.view).toBe("readout");
    expect(state.steer).toEqual([{ name: "calm", strength: 0.5 }, { name: "happy", strength: 0.2 }, { name: "afraid", strength: 0.1 }]);
    expect(state.layer).toBeNull();
    expect(state.emotion).toBe(TOP);
    expect(state.track).toEqual(["calm"]);
    expect(state.seed).toBe(0);
    expect(state.temperature).toBe(0);
    expect(state.maxTokens).toBe(1024);
    expect(state.backend).toBeNull();
    expect(state.autorun).toBe(false);
    const text = warnings.join("\n");
    for (const bit of [`ignored steer "<b>x</b>:1"`, `"sad:NaN"`, "clamped to 0.5", "layer 99", "__proto__", "constructor",
      "seed -5", "temperature", "max 1000000000", "backend", "no view"]) {
      expect(text).toContain(bit);
    }
  });

  test("non-integer layers and seeds are refused; long prompts are cut", () => {
    const long = "a".repeat(MAX_PROMPT_CHARS + 10);
    const { state, warnings } = full(`?layer=2.5&seed=1.5&prompt=${long}`);
    expect(state.layer).toBeNull();
    expect(state.seed).toBe(42);
    expect(state.prompt.length).toBe(MAX_PROMPT_CHARS);
    expect(warnings.length).toBe(3);
  });

  test("a fourth steer is dropped", () => {
    const { state, warnings } = full("?steer=afraid:0.1,calm:0.2,sad:0.3,happy:0.4");
    expect(state.steer.map((s) => s.name)).toEqual(["afraid", "calm", "sad"]);
    expect(warnings.join()).toContain("at most 3");
  });
});
