// Shared by the page tests: scripts/serve.py on a free-ish port, and Debian's Chromium.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

// A TCP port on 127.0.0.1 that is free now (the OS picks it), so test files never collide.
export async function freePort() {
  const probe = createServer();
  await new Promise((ok) => probe.listen(0, "127.0.0.1", ok));
  const { port } = probe.address();
  await new Promise((ok) => probe.close(ok));
  return port;
}

// For a test file: the page server and a browser (`flags` added) started before its tests and
// closed after them. `site.url` is the page's address; `site.browser`, `site.server` the rest.
export function useSite(flags = ["--disable-gpu"]) {
  const site = { url: "", port: 0, browser: null, server: null };
  before(async () => {
    site.port = await freePort();
    site.url = `http://127.0.0.1:${site.port}/`;
    site.server = await startServer(site.port);
    site.browser = await launch(flags);
  });
  after(async () => {
    await site.browser?.close();
    site.server?.kill();
  });
  return site;
}

// Starts the page server on `port`; resolves to the process once it serves.
export async function startServer(port) {
  const server = spawn("python3", ["scripts/serve.py", "--port", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((ok, fail) => {
    server.stdout.on("data", (d) => String(d).includes("serving") && ok());
    server.on("exit", (code) => fail(new Error(`server exited with ${code}`)));
  });
  return server;
}

// A page of `browser` that records page errors (`page.errors`, also logged) and CSP violations
// (`window.__csp`, read back with `cspViolations`).
export async function recordingPage(browser, options) {
  const p = await browser.newPage(options);
  p.errors = [];
  p.on("pageerror", (e) => {
    p.errors.push(e.message);
    console.error("page error:", e.message);
  });
  await p.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return p;
}

// The CSP violations a `recordingPage` saw so far.
export function cspViolations(p) {
  return p.evaluate(() => window.__csp);
}

// Debian's Chromium, headless, quiet on the network; `extra` adds flags (e.g. WebGPU).
export function launch(extra) {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", ...extra, "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
}

// A second, unrelated site for embed tests: serves `pages` (path → HTML) on 127.0.0.1:`port`,
// cross-origin isolated (COOP same-origin + COEP require-corp, the strictest host an embed meets).
export async function startHost(port, pages) {
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    const html = pages[new URL(req.url, "http://x").pathname];
    res.writeHead(html === undefined ? 404 : 200, {
      "Content-Type": "text/html; charset=utf-8",
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
    });
    res.end(html ?? "not found");
  });
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return server;
}

// Four texts that show a concept (the Make view's tests make "pirate talk" from them).
export const PIRATE_TEXTS = [
  "Arr matey, hoist the sails and find the buried treasure!",
  "Shiver me timbers, the captain be drinking rum on the poop deck.",
  "Avast ye scallywags, walk the plank or swab the deck!",
  "Yo ho ho, the pirate ship sails for Tortuga at dawn, arr.",
];
