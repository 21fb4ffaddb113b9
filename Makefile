# dnahost — see README.md. Targets:
#   make demo     build, import a model, run it in the sandbox, then a 4-node devnet job end to end
#   make devnet   a 4-node devnet on 127.0.0.1 that stays up (dashboard on node 0)
#   make test     vet and test everything (what CI runs)
#   make test-wasmtime  the runtime, ABI, consensus and CLI tests again with the wasmtime engine (cgo)
#   make bench    benchmarks: kernels, tokens/s, host-call cost, sandbox overhead, verification, chain, devnet jobs
#   make bench-engines  tokens/s, host-call cost and module start-up per engine, wasmtime included
#   make fuzz     every fuzz target for FUZZTIME each
#   make crashtest  100 SIGKILL and 100 power-cut trials of the chain store
#   make guest    rebuild the committed guest module guests/llama.wasm
#   make example  build, train, pack and run the bigram example bundle
#   make openai-test  check the OpenAI-compatible API with the official openai npm client (needs Node.js)
#   make dashboard-shot  screenshot of the dashboard of a live in-process devnet (headless Chromium) to docs/dashboard.png

GO       ?= go
FUZZTIME ?= 30s
BUILD    := build


.PHONY: devnet openai-test dashboard-shot
.PHONY: all build guest test bench demo fuzz crashtest example clean
.PHONY: test-wasmtime bench-engines

all: build

build:
	$(GO) build -o bin/dna ./cmd/dna
	$(GO) build -o bin/dnahost ./cmd/dnahost

guest:
	cd guest-sdk && GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -buildmode=c-shared -o ../guests/llama.wasm ./cmd/llama
	$(GO) version | awk '{print $$3}' > guests/llama.wasm.go-version

test:
	@test -z "$$(gofmt -l . guest-sdk)" || { echo "gofmt needed:"; gofmt -l . guest-sdk; exit 1; }
	$(GO) vet ./...
	cd guest-sdk && $(GO) vet ./... && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...
	$(GO) test ./...
	cd guest-sdk && $(GO) test ./...

# The wasmtime engine needs cgo (wasmtime-go ships static libraries in its
# module, so nothing but the Go module proxy is needed). With the tag every
# engine-dependent test runs on wazero's compiler, its interpreter and
# wasmtime, and the differential tests compare all three.
WASMTIME_PKGS := ./runtime/... ./hostfuncs/... ./consensus/... ./cmd/dna/...

test-wasmtime:
	CGO_ENABLED=1 $(GO) vet -tags wasmtime $(WASMTIME_PKGS)
	CGO_ENABLED=1 $(GO) test -tags wasmtime $(WASMTIME_PKGS)

bench-engines:
	@mkdir -p $(BUILD)
	CGO_ENABLED=1 $(GO) test -tags wasmtime -run '^$$' -bench 'Engines' -benchtime 3x -timeout 60m ./runtime/ | tee $(BUILD)/bench-engines.txt

bench:
	@mkdir -p $(BUILD)
	$(GO) test -run '^$$' -bench . -benchtime 0.5s ./kernels/cpu/ | tee $(BUILD)/bench-kernels.txt
	$(GO) test -run '^$$' -bench 'Generate' -benchtime 3x -timeout 60m ./runtime/ | tee $(BUILD)/bench-runtime.txt
	$(GO) test -run '^$$' -bench 'SandboxOverhead' -benchtime 9x -timeout 60m ./runtime/ | tee -a $(BUILD)/bench-runtime.txt
	$(GO) test -run '^$$' -bench 'HostCall' -benchtime 200x ./runtime/ | tee -a $(BUILD)/bench-runtime.txt
	$(GO) test -run '^$$' -bench . ./runtime/internal/meter/ | tee $(BUILD)/bench-meter.txt
	$(GO) test -run '^$$' -bench 'Verify' -benchtime 3x -timeout 60m ./consensus/verify/ | tee $(BUILD)/bench-verify.txt
	$(GO) test -run '^$$' -bench . -benchtime 2s ./netq/ | tee $(BUILD)/bench-netq.txt
	$(GO) test -run '^$$' -bench 'ProcessHeaders|CheckHeader' ./chain/ | tee $(BUILD)/bench-chain.txt
	$(GO) test -run '^$$' -bench 'Block5000Tx|Reorg100' -benchtime 5x -timeout 60m ./chain/ | tee -a $(BUILD)/bench-chain.txt
	$(GO) test -run '^$$' -bench 'WriteAmp10000' -benchtime 1x -timeout 60m ./chain/ | tee -a $(BUILD)/bench-chain.txt
	$(GO) test -run '^$$' -bench DevnetJobs -benchtime 1x -timeout 30m ./node/e2e/ | tee $(BUILD)/bench-devnet.txt

demo: build
	bash scripts/demo.sh

devnet: build
	DEVNET_ONLY=1 bash scripts/demo.sh

fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

crashtest:
	DNA_CRASH_TRIALS=100 $(GO) test ./chain/ -run 'Crash' -count=1 -timeout 60m -v

example: build
	bash scripts/example.sh

openai-test:
	npm ci --prefix scripts/openai-client --no-audit --no-fund
	DNA_OPENAI_CLIENT=1 $(GO) test ./node/api/ -run '^TestOpenAIClient$$' -count=1 -v

dashboard-shot:
	GO=$(GO) BUILD=$(BUILD) bash scripts/dashboard-shot.sh

clean:
	rm -rf bin $(BUILD)
