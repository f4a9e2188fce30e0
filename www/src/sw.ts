//! The service worker (built to sw.js at the site's root): once the page has loaded, the site
//! works offline. It precaches every file of the built site, listed at build time with a
//! version made from their contents (vite.config.ts writes both in place of BUILD), serves them
//! cache-first, and drops older versions' caches when it takes over.
//!
//! The 98 MB model is not its business: the engine's worker keeps it in the Cache API itself
//! (limbic-model-v1, checked by SHA-256) and reads it from there before any request, so model
//! requests pass through untouched and the model is never stored twice. The emotion vectors
//! (`*.safetensors`, 12 MB) are fetched on each load, so they are kept here, network first: a
//! new file is picked up online, the last one serves offline. On a first visit the page loads
//! them before this worker controls it, so the page also names them in a `limbic:keep` message
//! and they are fetched once more into the cache if they are not there yet.

interface Build {
  version: string;
  /** Paths relative to the site's root. */
  files: string[];
}

// The DOM library's types lack the service worker's; these are the parts used here.
interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Promise<Response> | Response): void;
}
interface ExtendableMessageEvent extends ExtendableEvent {
  readonly data: unknown;
}
interface SwScope {
  readonly registration: { readonly scope: string };
  readonly location: Location;
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: "install" | "activate", fn: (e: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", fn: (e: FetchEvent) => void): void;
  addEventListener(type: "message", fn: (e: ExtendableMessageEvent) => void): void;
}

const sw = self as unknown as SwScope;
const BUILD = "__LIMBIC_BUILD__" as unknown as Build;
const SITE_PREFIX = "limbic-site-";
const SITE_CACHE = `${SITE_PREFIX}${BUILD.version}`;
const DATA_CACHE = "limbic-data-v1";

const scope = sw.registration.scope;
/** The site's root (index.html's address without its name) and every built file. */
const PRECACHE = [scope, ...BUILD.files.map((f) => new URL(f, scope).href)];
const PRECACHED_PATHS = new Set(PRECACHE.map((u) => new URL(u).pathname));

sw.addEventListener("install", (e) => {
  e.waitUntil((async () => {
    const cache = await caches.open(SITE_CACHE);
    // "reload": straight from the server, never a stale copy from the HTTP cache.
    await cache.addAll(PRECACHE.map((u) => new Request(u, { cache: "reload" })));
    await sw.skipWaiting();
  })());
});

sw.addEventListener("activate", (e) => {
  e.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(SITE_PREFIX) && name !== SITE_CACHE) await caches.delete(name);
    }
    await sw.clients.claim();
  })());
});

/** The site's own file from the cache (any query: the page's state lives there), else the network. */
async function cacheFirst(req: Request): Promise<Response> {
  const cache = await caches.open(SITE_CACHE);
  return (await cache.match(req, { ignoreSearch: true })) ?? fetch(req);
}

/** The network's answer, kept for next time; the kept one when the network fails. */
async function networkFirst(req: Request): Promise<Response> {
  const cache = await caches.open(DATA_CACHE);
  const key = req.url.split("?")[0]!;
  try {
    const resp = await fetch(req);
    if (resp.ok && resp.status === 200) await cache.put(key, resp.clone());
    return resp;
  } catch (err) {
    const hit = await cache.match(key);
    if (hit) return hit;
    throw err;
  }
}

sw.addEventListener("fetch", (e) => {
  const req = e.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== sw.location.origin) return;
  if (url.pathname.endsWith(".safetensors")) e.respondWith(networkFirst(req));
  else if (PRECACHED_PATHS.has(url.pathname)) e.respondWith(cacheFirst(req));
  // Everything else, the model included, goes to the network as if there were no worker.
});

/** A same-origin emotion-vectors file, the only kind a page may ask us to keep. */
function keepable(u: unknown): u is string {
  if (typeof u !== "string") return false;
  try {
    const url = new URL(u);
    return url.origin === sw.location.origin && url.pathname.endsWith(".safetensors") && !url.search;
  } catch {
    return false;
  }
}

// {type: "limbic:keep", urls}: the page's data files, fetched into the cache if missing.
sw.addEventListener("message", (e) => {
  const m = e.data as { type?: unknown; urls?: unknown } | null;
  if (!m || m.type !== "limbic:keep" || !Array.isArray(m.urls)) return;
  e.waitUntil((async () => {
    const cache = await caches.open(DATA_CACHE);
    for (const url of m.urls as unknown[]) {
      if (keepable(url) && !(await cache.match(url))) await cache.add(url).catch(() => undefined);
    }
  })());
});
