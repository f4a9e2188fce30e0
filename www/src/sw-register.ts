//! Registers the service worker (sw.js at the site's root, built from sw.ts) that keeps the
//! built site for offline use, and names the data files it should keep too (the emotion
//! vectors). Nothing happens where there is none (an opaque origin, an old browser, a private
//! mode without storage): the page works online the same.

/** Registers sw.js; once it is active, asks it to keep `dataUrls` (absolute, same origin). */
export function registerServiceWorker(dataUrls: string[]): void {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(new URL("sw.js", document.baseURI), { scope: "./" })
    .then(() => navigator.serviceWorker.ready)
    .then((reg) => reg.active?.postMessage({ type: "limbic:keep", urls: dataUrls }))
    .catch((err: unknown) => console.warn("limbic: no offline copy (service worker):", err));
}
