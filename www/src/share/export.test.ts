import { describe, expect, test } from "vitest";
import { csvField, defuseFormula, exportName, type ExportMeta, fixed, readoutCsv, readoutJson } from "./export";
import type { Token } from "../run-data";

const NAMES = ["afraid", "at ease", "sad, really"];
const tok = (text: string, kind: Token["kind"], scores: number[] | null): Token =>
  ({ text, kind, scores: scores ? Float32Array.from(scores) : null });

const TOKENS: Token[] = [
  tok("<|im_start|>", "template", [9, 9, 9]),
  tok("My", "prompt", [0.5, -0.25, 1]),
  tok(" dog, \"Rex\"", "prompt", [0.123456, 2, -3]),
  tok("\n", "reply", [0, 0, 0]),
  tok("=1+1", "reply", null),
];

const META: ExportMeta = {
  model: "m", layer: 21, seed: 42, temperature: 0, maxTokens: 8, steer: [{ name: "sad", strength: 0.2 }],
  prompt: "My dog, \"Rex\"", backend: "cpu", date: "2026-11-27T10:04:05.123Z",
};

describe("CSV", () => {
  test("fields with commas, quotes, line breaks or edge spaces are quoted, quotes doubled", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\r")).toBe('"cr\r"');
    expect(csvField(" dog")).toBe('" dog"');
    expect(csvField("")).toBe("");
  });

  test("text that starts like a formula is defused; other text is kept", () => {
    for (const f of ["=SUM(A1)", "+1", "-2", "@x", "\tx"]) expect(defuseFormula(f)).toBe(`'${f}`);
    expect(defuseFormula(" =x")).toBe(" =x");
    expect(defuseFormula("dog")).toBe("dog");
  });

  test("numbers have fixed precision; missing or NaN ones are empty", () => {
    expect(fixed(0.123456)).toBe("0.1235");
    expect(fixed(-3)).toBe("-3.0000");
    expect(fixed(undefined)).toBe("");
    expect(fixed(NaN)).toBe("");
  });

  test("a header of emotion names, one row per prompt or reply token, CRLF lines", () => {
    const csv = readoutCsv(TOKENS, NAMES);
    expect(csv.endsWith("\r\n")).toBe(true);
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe('index,kind,token,afraid,at ease,"sad, really"');
    expect(lines[1]).toBe("0,prompt,My,0.5000,-0.2500,1.0000");
    expect(lines[2]).toBe('1,prompt," dog, ""Rex""",0.1235,2.0000,-3.0000');
    // A newline token spans two physical lines inside its quotes.
    expect(csv).toContain('2,reply,"\n",0.0000,0.0000,0.0000\r\n');
    expect(csv).toContain("3,reply,'=1+1,,,\r\n");
    expect(csv).not.toContain("im_start");
  });
});

describe("JSON", () => {
  test("metadata, names and every token with rounded scores", () => {
    const j = readoutJson(TOKENS, NAMES, META);
    expect(j.meta).toMatchObject({
      model: "m", layer: 21, seed: 42, temperature: 0, maxTokens: 8, steer: "sad:0.2", prompt: "My dog, \"Rex\"",
      date: "2026-11-27T10:04:05.123Z", emotions: NAMES, precision: 4, steers: [{ name: "sad", strength: 0.2 }],
    });
    expect(j.tokens.map((t) => t.text)).toEqual(["My", " dog, \"Rex\"", "\n", "=1+1"]);
    expect(j.tokens[1]!.scores).toEqual([0.1235, 2, -3]);
    expect(j.tokens[3]!.scores).toBeNull();
    expect(j.tokens.map((t) => t.index)).toEqual([0, 1, 2, 3]);
    // Survives a round trip through text.
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });

  test("NaN scores become null", () => {
    const j = readoutJson([tok("x", "reply", [NaN, 1, 2])], NAMES, META);
    expect(j.tokens[0]!.scores).toEqual([null, 1, 2]);
  });
});

test("file names come from the date without colons", () => {
  expect(exportName("readout", "2026-11-27T10:04:05.123Z", "csv")).toBe("limbic-readout-2026-11-27T10-04-05.csv");
});
