//! A made vector in a link's fragment (`#made=…&name=…&hash=…&layer=…&strength=…`): one layer
//! of it in f16, base64url; its name, the hash of the texts it was made from, the layer it
//! steers at and the strength. The fragment never reaches a server. Decoding never throws:
//! anything malformed (too long, bad base64, a wrong length, NaN or infinity, a bad name,
//! layer or strength) is refused with a reason, and nothing runs.

/** The longest fragment read at all (a vector of 4096 f16 values is ~11,000 characters). */
export const MAX_FRAGMENT_CHARS = 16_384;
export const MAX_NAME_CHARS = 60;
/** The page's strength range (a fraction of the residual norm). */
export const MADE_STRENGTH_LIMIT = 0.5;
/** Where a made vector's strength starts (the Make view's slider, a new Steer row). */
export const MADE_STRENGTH = 0.3;
/** Where a control vector read from a file starts: llama.cpp's scale, the file as it is. */
export const IMPORTED_STRENGTH = 1;

export interface MadeLink {
  name: string;
  /** Hex of the first 8 bytes of the SHA-256 of the texts (textsHash). */
  hash: string;
  layer: number;
  strength: number;
  vector: Float32Array;
}

export type Decoded = { ok: true; made: MadeLink } | { ok: false; error: string };

/** IEEE 754 half → single (exact). */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Single → half, rounded to nearest even; beyond the f16 range, ±Infinity. */
export function f32ToF16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half += 1;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1;
  e = half >> 10;
  return sign | (e >= 31 ? 0x7c00 : half);
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function toBase64Url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!B64URL.test(text) || text.length % 4 === 1) return null;
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Hex of the first 8 bytes of SHA-256 over the texts (each length-prefixed, the opposite
 * texts after a separator), so the same texts give the same hash. */
export async function textsHash(texts: readonly string[], opposite: readonly string[]): Promise<string> {
  const body = JSON.stringify([texts, opposite]);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The fragment (without "#") that carries `m`; values rounded to f16. */
export function encodeMade(m: MadeLink): string {
  const halves = new Uint16Array(m.vector.length);
  m.vector.forEach((v, i) => { halves[i] = f32ToF16(v); });
  const q = new URLSearchParams();
  q.set("made", toBase64Url(new Uint8Array(halves.buffer)));
  q.set("name", m.name);
  q.set("hash", m.hash);
  q.set("layer", String(m.layer));
  q.set("strength", String(m.strength));
  return q.toString();
}

/** Whether `fragment` (with or without "#") means to carry a made vector. */
export function carriesMade(fragment: string): boolean {
  return /(^#?|&)made=/.test(fragment.slice(0, 64));
}

/** Reads a fragment made by `encodeMade`; `d` (when known) is the model's width. */
export function decodeMade(fragment: string, d?: number): Decoded {
  const bad = (why: string): Decoded => ({ ok: false, error: `the link's made vector was refused: ${why}` });
  if (fragment.length > MAX_FRAGMENT_CHARS) return bad(`its fragment is ${fragment.length} characters, more than ${MAX_FRAGMENT_CHARS}`);
  const q = new URLSearchParams(fragment.replace(/^#/, ""));
  const bytes = fromBase64Url(q.get("made") ?? "");
  if (!bytes || bytes.length === 0) return bad("the vector is not base64url");
  if (bytes.length % 2 !== 0) return bad(`the vector has ${bytes.length} bytes, not a whole number of f16 values`);
  const n = bytes.length / 2;
  if (d !== undefined && n !== d) return bad(`the vector has ${n} values; this model's residual stream has ${d}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vector = new Float32Array(n);
  for (let i = 0; i < n; i++) vector[i] = f16ToF32(view.getUint16(2 * i, true));
  if (vector.some((v) => !Number.isFinite(v))) return bad("the vector holds NaN or infinity");
  if (vector.every((v) => v === 0)) return bad("the vector is all zeros");
  const name = (q.get("name") ?? "").trim();
  // eslint-disable-next-line no-control-regex
  if (!name || [...name].length > MAX_NAME_CHARS || /[\u0000-\u001f\u007f-\u009f]/.test(name)) return bad(`the name must be 1 to ${MAX_NAME_CHARS} printable characters`);
  const hash = q.get("hash") ?? "";
  if (!/^[0-9a-f]{16}$/.test(hash)) return bad("the texts' hash must be 16 hexadecimal digits");
  const layerText = q.get("layer") ?? "";
  const layer = Number(layerText);
  if (!/^\d{1,4}$/.test(layerText) || layer < 1) return bad("the layer must be a whole number from 1");
  const strengthText = q.get("strength") ?? "";
  const strength = Number(strengthText);
  if (strengthText.trim() === "" || !Number.isFinite(strength) || Math.abs(strength) > MADE_STRENGTH_LIMIT) {
    return bad(`the strength must be a number within ±${MADE_STRENGTH_LIMIT}`);
  }
  return { ok: true, made: { name, hash, layer, strength, vector } };
}
