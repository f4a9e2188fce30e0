//! The model file's bytes, for the engine's worker: from this browser's Cache API when a good
//! copy is kept there, else downloaded with progress and kept, or read from a file the visitor
//! picked (never kept: it is on their disk already). A file with a known SHA-256 must match it
//! (a damaged cached copy is dropped and downloaded again); another GGUF at an address has no
//! known hash: it is kept under its address unchecked, and the page says so. Past `maxBytes`
//! (what the tab can hold) a download or a file is refused before it fills the memory.

import { MODEL_CACHE } from "../config";
import { type FromWorker, hex } from "./protocol";

/** Where the model comes from (exactly one of `url` and `file`). */
export interface ModelSource {
  url?: string;
  file?: Blob;
  /** Lower-case hex; absent: nothing to check against. */
  sha256?: string;
  maxBytes?: number;
  /** false: the page has no Cache API. */
  cache: boolean;
}

type Post = (m: FromWorker) => void;

export async function sha256(bytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)));
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** The error for a file past `max` bytes. */
function tooLarge(what: string, bytes: number, max: number): Error {
  return new Error(`${what} is ${mb(bytes)}, more than this tab can load (${mb(max)}): refused`);
}

/** The model's bytes from `src`, with `progress` messages (and `notice`s) sent through `post`. */
export async function modelBytes(src: ModelSource, post: Post): Promise<Uint8Array> {
  if (src.file) {
    if (src.maxBytes !== undefined && src.file.size > src.maxBytes) throw tooLarge("the model file", src.file.size, src.maxBytes);
    return readAll(src.file.stream(), src.file.size, src.maxBytes, post);
  }
  const url = src.url!;
  let cache: Cache | null = null;
  try {
    if (!src.cache) throw new Error("no Cache API");
    cache = await caches.open(MODEL_CACHE);
    const hit = await cache.match(url);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      post({ type: "progress", loaded: bytes.length, total: bytes.length, cached: true });
      if (!src.sha256 || (await sha256(bytes)) === src.sha256) return bytes;
      await cache.delete(url);
      post({ type: "notice", message: "the cached model was damaged (SHA-256 mismatch): downloading it again" });
    }
  } catch {
    cache = null; // no Cache API (e.g. an opaque origin): download every time
  }
  const bytes = await download(url, src.maxBytes, post);
  if (src.sha256 && (await sha256(bytes)) !== src.sha256) {
    throw new Error("the downloaded model does not match its SHA-256: the server sent another or a damaged file");
  }
  if (cache) {
    try {
      await cache.put(url, new Response(bytes as Uint8Array<ArrayBuffer>));
    } catch {
      post({ type: "notice", message: "no room to keep the model in this browser: it will be downloaded again next time" });
    }
  }
  return bytes;
}

/** Streams `url` with progress; an interrupted download is an error the page can retry. */
async function download(url: string, max: number | undefined, post: Post): Promise<Uint8Array> {
  let resp: Response;
  try {
    resp = await fetch(url);
  } catch (err) {
    throw new Error(`model download failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!resp.ok || !resp.body) throw new Error(`model download failed: HTTP ${resp.status} for ${url}`);
  const total = Number(resp.headers.get("content-length")) || 0;
  if (max !== undefined && total > max) {
    await resp.body.cancel();
    throw tooLarge("the model", total, max);
  }
  return readAll(resp.body, total, max, post);
}

/** Every byte of `stream` (`total` long when known, else 0), with progress. With the total
 * known the bytes go straight into one buffer, so the file is held once, not twice. */
async function readAll(stream: ReadableStream<Uint8Array>, total: number, max: number | undefined, post: Post): Promise<Uint8Array> {
  const reader = stream.getReader();
  let whole = total ? new Uint8Array(total) : null;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (whole && loaded + value.length <= total) whole.set(value, loaded);
    else chunks.push(value);
    loaded += value.length;
    if (max !== undefined && loaded > max) {
      await reader.cancel();
      throw tooLarge("the model", loaded, max);
    }
    post({ type: "progress", loaded, total, cached: false });
  }
  if (total && loaded !== total) throw new Error(`model download stopped at ${loaded} of ${total} bytes`);
  if (chunks.length) {
    whole = new Uint8Array(loaded);
    let at = 0;
    for (const c of chunks) { whole.set(c, at); at += c.length; }
  }
  return whole ?? new Uint8Array(0);
}
