#!/usr/bin/env python3
"""Serves the limbic page on localhost: the built site (www/dist/, `make site`) at /, the model at
/models/, the vectors at /data/, and the wasm engine also at /pkg/ (the site bundles its own copy).

Sends cross-origin isolation headers (for wasm threads later), a CSP, and no-cache for the page code.
"""
import argparse
import http.server
import os
import sys
from urllib.parse import unquote

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOUNTS = {"/pkg/": "pkg", "/models/": "models", "/data/": "data"}


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
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
                         "connect-src 'self'; img-src 'self' data:")
        if not self.path.startswith("/models/"):
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, fmt, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8080)))
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    for need in ("www/dist/index.html", "models/SmolLM2-135M-Instruct.Q4_1.gguf"):
        if not os.path.exists(os.path.join(ROOT, need)):
            sys.exit(f"{need} is missing: run `make demo` (it builds and fetches everything)")
    handler = lambda *a, **k: Handler(*a, directory=os.path.join(ROOT, "www", "dist"), **k)
    server = http.server.ThreadingHTTPServer((args.host, args.port), handler)
    print(f"limbic is serving http://{args.host}:{args.port}/  (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
