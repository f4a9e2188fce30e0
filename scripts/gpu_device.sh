#!/usr/bin/env bash
# Timing limbic on a lent GPU machine (issue 14): native wgpu decode and prompt speed of this
# tree's build against a base build, alternating, beside the CPU engine on the same machine,
# with the readout on; then the GPU tests. Such a machine takes at most 64 MiB of the working
# tree and has no network; SmolLM2's file (98 MB) cannot travel, so it runs a file of the
# same shape (scripts/same_shape.py: the real header, tokenizer and norms, random quants).
#
#   scripts/gpu_device.sh prepare [BASE_REV]   # here: builds, packs .gpu/ and .gl/, and takes
#                                              # the large tracked files out of what travels
#   (the device tool) run: bash scripts/gpu_device.sh run   carry: [".gl", ".gpu"]
#   scripts/gpu_device.sh restore              # here: the index and excludes as they were
#
# BASE_REV (default HEAD~1) is built in a worktree under target/base-tree; the run prints
# {"decode_tps", "prompt_tps", ...} lines per build ("== B" base, "== V" this tree) into
# $OUT/log.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tracked files the device run does not read (~36 MB): out of the index while it travels.
LARGE="data/vectors/gemma-3-270m.safetensors data/corpus docs/validation docs/screenshots
  tests/fixtures/tiny_llama.gguf tests/fixtures/tiny_gemma3.gguf tests/fixtures/tiny_qwen2.gguf
  tests/fixtures/tiny_llama3.gguf tests/fixtures/reference_logprobs.bin"
TESTS="gpu_fused gpu gpu_loop gpu_sampling gpu_families"

prepare() {
  local base=${1:-HEAD~1}
  grep -qx "/.gpu/" .git/info/exclude || echo /.gpu/ >> .git/info/exclude
  grep -qx "/.gl/" .git/info/exclude || echo /.gl/ >> .git/info/exclude
  rm -rf .gpu && mkdir -p .gpu .gl
  # For any x86-64 with AVX2 (the device's CPU is not this one; the quantized kernels still
  # pick AVX-512 VNNI at run time), in a target folder of its own.
  export RUSTFLAGS="-C target-cpu=x86-64-v3" CARGO_TARGET_DIR=$PWD/target/device
  cargo build --release
  cp target/device/release/limbic .gpu/limbic-var
  for t in $TESTS; do
    exe=$(cargo test --release --no-run --test "$t" --message-format=json 2>/dev/null |
      python3 -c "import json, sys; print([m['executable'] for m in map(json.loads, sys.stdin) if m.get('executable')][-1])")
    cp "$exe" ".gpu/t-$t"
  done
  rm -rf target/base-tree && git worktree prune
  git worktree add --detach target/base-tree "$base"
  (cd target/base-tree && cargo build --release)
  cp target/device/release/limbic .gpu/limbic-base
  git worktree remove --force target/base-tree
  strip .gpu/limbic-* .gpu/t-*
  xz -6 -T2 .gpu/limbic-* .gpu/t-*
  python3 scripts/same_shape.py skeleton models/SmolLM2-135M-Instruct.Q4_1.gguf .gpu/skel.bin
  # Debian's Vulkan loader (the machine has NVIDIA's driver and ICD but maybe no loader).
  mkdir -p /tmp/amd64/partial
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq && (cd .gl && apt-get $o download libvulkan1)
  cp .git/info/exclude .gpu/exclude.saved
  git rm -r -q --cached $LARGE
  for p in $LARGE; do echo "/$p" >> .git/info/exclude; done
  du -shc .gpu .gl | tail -1
}

restore() {
  git reset -q
  if [ -e .gpu/exclude.saved ]; then cp .gpu/exclude.saved .git/info/exclude; fi
  git status --short
}

run() {
  exec > >(tee -a "$OUT/log.txt") 2>&1
  local t0
  t0=$(date +%s)
  el() { echo "[t+$(($(date +%s) - t0))s] $*"; }
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -e $icd ]; then export VK_DRIVER_FILES=$icd; fi
  # The test binaries find the model and fixtures under the path they were built in.
  if [ "$PWD" != /work/main ]; then mkdir -p /work && ln -sfn "$PWD" /work/main; fi
  for z in .gpu/*.xz; do xz -dkf "$z"; done
  chmod +x .gpu/limbic-base .gpu/limbic-var .gpu/t-*
  mkdir -p models
  python3 scripts/same_shape.py fill .gpu/skel.bin models/SmolLM2-135M-Instruct.Q4_1.gguf
  # The vectors file names the model it was made for: name the same-shape file instead.
  python3 - <<'PY'
import hashlib
model = open('models/SmolLM2-135M-Instruct.Q4_1.gguf', 'rb').read()
path = 'data/vectors/smollm2-135m-instruct.safetensors'
vectors = open(path, 'rb').read()
old = open('models.sha256').read().split()[0].encode()
assert old in vectors
open(path, 'wb').write(vectors.replace(old, hashlib.sha256(model).hexdigest().encode()))
PY
  nvidia-smi -L || true
  lscpu | grep -E "Model name|^CPU\(s\)" || true
  local B=.gpu/limbic-base V=.gpu/limbic-var T="timeout 60"
  el "decode: bench prompt (42 tokens), 128 greedy tokens, alternating"
  for r in 1 2 3 4; do
    for x in B V; do echo "== $x gpu $r"; $T ${!x} bench --backend gpu --json || true; done
  done
  for x in B V; do echo "== $x gpu ahead 0"; $T ${!x} bench --backend gpu --ahead 0 --json || true; done
  for r in 1 2; do echo "== cpu $r"; $T $B bench --json || true; done
  el "prompts of 500 tokens or more"
  for r in 1 2; do
    for x in B V; do
      echo "== $x gpu long $r"
      $T ${!x} bench --backend gpu --prompt-tokens 500 --tokens 16 --json || true
    done
  done
  echo "== cpu long"; $T $B bench --prompt-tokens 500 --tokens 16 --json || true
  el "the readout on (5 alternating runs inside each)"
  echo "== V hooks gpu"; timeout 120 $V bench --hooks --backend gpu || true
  echo "== B hooks gpu"; timeout 120 $B bench --hooks --backend gpu || true
  echo "== cpu hooks"; timeout 120 $B bench --hooks --tokens 64 || true
  el "the GPU tests of this tree (tokens compared with fixtures fail on the same-shape file)"
  for t in $TESTS; do
    echo "== $t"
    timeout 150 ".gpu/t-$t" 2>&1 | grep -E "^test |test result|panicked|adapter|FAILED|nats" | head -60 || true
  done
  el done
}

case "${1:-}" in
  prepare) prepare "${2:-}" ;;
  run) run ;;
  restore) restore ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
