# The project's commands. `make test` is what CI runs (.ci/run) and what the README tells a new
# user to run.
GO       ?= go
FUZZTIME ?= 10s

.PHONY: test check race bench fuzz wasm

# In CI (CI=true) the tests are followed by every fuzz target for FUZZTIME (10 s each, about
# four minutes in all on 2 cores); a local `make test` runs the fuzz seeds only, as plain tests.
test: check race
	@if [ "$$CI" = true ]; then $(MAKE) --no-print-directory fuzz; fi

# Formatting and static checks: gofmt, go vet, a tidy go.mod, and staticcheck (pinned in go.mod as
# a Go tool dependency, so `go tool` builds the same version everywhere).
check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo "go.mod is not tidy: run go mod tidy"; exit 1; }
	$(GO) tool staticcheck ./...

# The race detector needs cgo and a C compiler; without them the tests run without it.
RACE := $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)

# Every test, with the race detector where the machine has one.
race:
	@if [ -z "$(RACE)" ]; then \
		if [ "$$CI" = true ]; then echo "CI needs the race detector: install a C compiler (gcc) for cgo"; exit 1; fi; \
		echo "note: no C compiler for cgo, so the tests run without -race"; \
	fi
	$(GO) test $(RACE) -count=1 -timeout 20m ./...
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then \
		echo "note: no Chromium, so the browser tests (cmd/aper TestBrowser) were skipped: apt-get install -y chromium"; \
	fi

# Every benchmark, with allocation figures.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Every fuzz target, each for FUZZTIME (make fuzz FUZZTIME=1m). A target that fails without
# writing a failing input to testdata/fuzz is run once more: with a duration budget, Go 1.26's
# fuzz coordinator can report "context deadline exceeded" at the end of the budget when a worker
# is still busy (golang/go#75804, fixed in Go 1.27). A real crasher fails at once.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
			echo "== $$pkg $$target"; \
			corpus=$$dir/testdata/fuzz/$$target; \
			before=$$(ls $$corpus 2>/dev/null | wc -l); \
			if ! $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; then \
				after=$$(ls $$corpus 2>/dev/null | wc -l); \
				if [ "$$after" != "$$before" ]; then echo "$$target wrote a failing input to $$corpus"; exit 1; fi; \
				echo "== $$target failed without a failing input: running it once more"; \
				$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
			fi; \
		done; \
	done

# The web pages' WebAssembly program (the sync client and the example rooms, GOOS=js GOARCH=wasm),
# built reproducibly with the Go toolchain alone into the data folder of `aper serve`, with the
# toolchain's wasm_exec.js beside it. aper serve builds the same on its first request for it;
# this target is for a server started where the toolchain or the source is missing.
WASMDIR ?= aper-data/web
wasm:
	@mkdir -p $(WASMDIR)
	GOOS=js GOARCH=wasm CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags="-s -w -buildid=" -o $(WASMDIR)/aper.wasm ./cmd/aper/internal/webclient
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(WASMDIR)/wasm_exec.js
	@ls -l $(WASMDIR)/aper.wasm; printf 'gzip -9: '; gzip -9 -c $(WASMDIR)/aper.wasm | wc -c
