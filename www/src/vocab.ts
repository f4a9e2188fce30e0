//! Token id → text for the prompt's tokens, read from the GGUF file the worker already holds
//! (the engine streams generated tokens' text itself, but has no id → text call). Only the
//! metadata is read: the `tokenizer.ggml.tokens` array, in GPT-2 byte-level form.

const T = { Str: 8, Arr: 9 } as const;
const SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** The strings of metadata array `key` in a GGUF file (v2/v3), or null if absent. */
export function ggufStrings(bytes: Uint8Array, key: string): string[] | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder();
  let at = 0;
  const u32 = () => { const v = view.getUint32(at, true); at += 4; return v; };
  const u64 = () => { const v = Number(view.getBigUint64(at, true)); at += 8; return v; };
  const str = () => { const n = u64(); const s = utf8.decode(bytes.subarray(at, at + n)); at += n; return s; };
  const skip = (type: number): void => {
    if (type === T.Str) { const n = u64(); at += n; return; }
    if (type === T.Arr) {
      const inner = u32();
      const n = u64();
      if (inner === T.Str || inner === T.Arr) for (let i = 0; i < n; i++) skip(inner);
      else at += n * (SIZE[inner] ?? fail(`unknown GGUF type ${inner}`));
      return;
    }
    at += SIZE[type] ?? fail(`unknown GGUF type ${type}`);
  };
  if (bytes.length < 24 || utf8.decode(bytes.subarray(0, 4)) !== "GGUF") fail("not a GGUF file");
  at = 4;
  const version = u32();
  if (version < 2) fail(`GGUF version ${version} is not supported`);
  u64(); // tensor count
  const nKv = u64();
  for (let i = 0; i < nKv; i++) {
    const k = str();
    const type = u32();
    if (k === key && type === T.Arr && view.getUint32(at, true) === T.Str) {
      at += 4;
      const n = u64();
      return Array.from({ length: n }, str);
    }
    skip(type);
  }
  return null;
}

function fail(message: string): never {
  throw new Error(message);
}

/** GPT-2's byte ↔ printable-character table, inverted: character → byte. */
function byteDecoder(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  }
  return new Map(bs.map((b, i) => [String.fromCodePoint(cs[i]!), b]));
}

/** Each token's text: byte-level pieces turned back into UTF-8 text (a piece of a multi-byte
 * character shows as U+FFFD); special tokens such as `<|im_start|>` stay as they are. */
export class Vocab {
  private readonly decoder = byteDecoder();
  private readonly utf8 = new TextDecoder();
  constructor(private readonly pieces: string[]) {}

  text(id: number): string {
    const piece = this.pieces[id];
    if (piece === undefined) return "\uFFFD";
    const bytes: number[] = [];
    for (const ch of piece) {
      const b = this.decoder.get(ch);
      if (b === undefined) return piece; // not byte-level (a special token with other characters)
      bytes.push(b);
    }
    return this.utf8.decode(new Uint8Array(bytes));
  }
}
