#!/usr/bin/env python3
"""Serves the limbic page on localhost: the built site (www/dist/, `make site`) at /, the model at
/models/, the vectors at /data/, and the wasm engine also at /pkg/ (the site bundles its own copy).

Sends cross-origin isolation headers (for wasm threads later), a CSP, and no-cache for the page code.
The page stays cross-origin isolated (COOP same-origin + COEP require-corp). What other sites load
from us, the embed (embed.html, in an <iframe>) and the <limbic-demo> script (limbic-demo.js), says
`Cross-Origin-Resource-Policy: cross-origin`, so that a cross-origin-isolated host page (COEP
require-corp) may load them too; embed.html also sends COEP require-corp, which such a host requires of
its frames. Everything else is `same-origin`: only our own pages read it.
"""
import argparse
import http.server
import os
import sys
from urllib.parse import unquote

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOUNTS = {"/pkg/": "pkg", "/models/": "models", "/data/": "data"}
# Loaded by other sites' pages: the embed's document and the element's script.
EMBEDDABLE = {"/embed.html", "/limbic-demo.js"}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript", ".gguf": "application/octet-stream"}

    def translate_path(self, path):
        clean = unquote(path.split("?", 1)[0].split("#", 1)[0])
        for prefix, folder in MOUNTS.items():
            if clean.startswith(prefix):
                base = os.path.join(ROOT, folder)
                full = os.path.normpath(os.path.join(base, clean[len(prefix):]))
                # Never serve anything outside the mounted folder.
                return full if full.startswith(base + os.sep) else os.path.join(base, "\0")
        return super().translate_path(path)

    def end_headers(self):
        path = unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin" if path in EMBEDDABLE else "same-origin")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
                         "connect-src 'self'; img-src 'self' data:")
        if not self.path.startswith("/models/"):
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, fmt, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A browser that closes a page mid-download resets the connection: not an error here.
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8080)))
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    for need in ("www/dist/index.html", "models/SmolLM2-135M-Instruct.Q4_1.gguf"):
        if not os.path.exists(os.path.join(ROOT, need)):
            sys.exit(f"{need} is missing: run `make demo` (it builds and fetches everything)")
    handler = lambda *a, **k: Handler(*a, directory=os.path.join(ROOT, "www", "dist"), **k)
    server = Server((args.host, args.port), handler)
    print(f"limbic is serving http://{args.host}:{args.port}/  (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
