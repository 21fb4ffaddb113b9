# dnahost — see README.md. Targets:
#   make demo     build dna, import a model, run it in the sandbox
#   make test     vet and test everything (what CI runs)
#   make bench    benchmarks: kernels, tokens/s, host-call cost, sandbox overhead, verification, chain
#   make fuzz     every fuzz target for FUZZTIME each
#   make guest    rebuild the committed guest module guests/llama.wasm
#   make example  build, train, pack and run the bigram example bundle

GO       ?= go
FUZZTIME ?= 30s
BUILD    := build

.PHONY: all build guest test bench demo fuzz example clean

all: build

build:
	$(GO) build -o bin/dna ./cmd/dna

guest:
	cd guest-sdk && GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -buildmode=c-shared -o ../guests/llama.wasm ./cmd/llama
	$(GO) version | awk '{print $$3}' > guests/llama.wasm.go-version

test:
	@test -z "$$(gofmt -l . guest-sdk)" || { echo "gofmt needed:"; gofmt -l . guest-sdk; exit 1; }
	$(GO) vet ./...
	cd guest-sdk && $(GO) vet ./... && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...
	$(GO) test ./...
	cd guest-sdk && $(GO) test ./...

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

demo: build
	bash scripts/demo.sh

fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

example: build
	bash scripts/example.sh

clean:
	rm -rf bin $(BUILD)
