import { expect, test } from "vitest";
import { ggufStrings, Vocab } from "./vocab";

/** A minimal GGUF v3 header with the given metadata, built by hand. */
function gguf(kvs: [string, number, (w: Writer) => void][]): Uint8Array {
  const w = new Writer();
  w.bytes(new TextEncoder().encode("GGUF"));
  w.u32(3);
  w.u64(0);
  w.u64(kvs.length);
  for (const [k, type, value] of kvs) { w.str(k); w.u32(type); value(w); }
  return w.done();
}
class Writer {
  private out: number[] = [];
  bytes(b: Uint8Array) { this.out.push(...b); }
  u32(v: number) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); this.bytes(b); }
  u64(v: number) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); this.bytes(b); }
  str(s: string) { const b = new TextEncoder().encode(s); this.u64(b.length); this.bytes(b); }
  done() { return new Uint8Array(this.out); }
}

test("reads a string array after other metadata of every kind", () => {
  const file = gguf([
    ["general.name", 8, (w) => w.str("tiny")],
    ["langs", 9, (w) => { w.u32(8); w.u64(2); w.str("en"); w.str("fr"); }],
    ["n", 4, (w) => w.u32(30)],
    ["ids", 9, (w) => { w.u32(5); w.u64(3); w.u32(1); w.u32(2); w.u32(3); }],
    ["flag", 7, (w) => w.bytes(new Uint8Array([1]))],
    ["big", 10, (w) => w.u64(7)],
    ["tokenizer.ggml.tokens", 9, (w) => { w.u32(8); w.u64(3); w.str("<|im_start|>"); w.str("Hello"); w.str("Ġworld"); }],
  ]);
  expect(ggufStrings(file, "tokenizer.ggml.tokens")).toEqual(["<|im_start|>", "Hello", "Ġworld"]);
  expect(ggufStrings(file, "missing")).toBeNull();
});

test("refuses what is not GGUF", () => {
  expect(() => ggufStrings(new Uint8Array(100), "x")).toThrow(/not a GGUF/);
  expect(() => ggufStrings(gguf([["t", 99, () => {}]]), "x")).toThrow(/unknown GGUF type 99/);
});

test("byte-level pieces become text", () => {
  const v = new Vocab(["<|im_start|>", "Ġworld", "Ċ", "Ã©", "Ã", "ĠðŁĺĬ"]);
  expect(v.text(0)).toBe("<|im_start|>");
  expect(v.text(1)).toBe(" world");
  expect(v.text(2)).toBe("\n");
  expect(v.text(3)).toBe("é");
  expect(v.text(4)).toBe("\uFFFD"); // half a character
  expect(v.text(5)).toBe(" 😊");
  expect(v.text(99)).toBe("\uFFFD");
});
