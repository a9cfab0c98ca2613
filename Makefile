# oscore-lab build and test entry points. `make test` is what CI runs.
GO       ?= go
FUZZTIME ?= 30s
# Packages with protocol state and concurrency run under the race detector.
RACE_PKGS  = ./oscore/... ./internal/nodes/... ./internal/trace/... ./internal/check/...
# cmd and web's Go tests (JSON API, the concurrent WebSocket hub) run under it
# too; web's browser tests, and its heap and frame-time figures, run once
# without it, with OTHER_PKGS.
RACE_WEB   = ./cmd/... ./web/...
OTHER_PKGS = ./cmd/... ./internal/scenario/... ./internal/peerctx/... ./web/... ./static/... ./internal/loadgen/...
FUZZ_PKGS  = ./oscore ./oscore/edhoc ./oscore/group ./internal/scenario ./internal/trace ./internal/nodes ./internal/peerctx ./internal/check ./internal/nodes/udpserver ./oscore/coaposcore
# Load tests measure cost per exchange: the race detector would swamp them.
LOAD_TESTS = -run 'TestOutsideLoadHoldsItsRate' ./internal/nodes/

.PHONY: run test check-fmt vet check-generate browser bench fuzz generate build mutants

run:
	$(GO) run ./cmd/oscore-lab

build:
	$(GO) build -o oscore-lab ./cmd/oscore-lab

test: check-fmt vet check-generate browser
	$(GO) test -race -count=1 -timeout 10m $(RACE_PKGS)
	$(GO) test -race -count=1 -timeout 10m -skip '^TestBrowser' $(RACE_WEB)
	$(GO) test -count=1 -timeout 10m $(OTHER_PKGS)
	$(GO) test -count=1 -timeout 5m $(LOAD_TESTS)

check-fmt:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The generated *_templ.go files are committed; regenerating must change nothing.
check-generate:
	@tmp=$$(mktemp -d); \
	find . -name '*_templ.go' -not -path './.git/*' | while read -r f; do mkdir -p "$$tmp/$$(dirname "$$f")"; cp "$$f" "$$tmp/$$f"; done; \
	$(GO) tool templ generate -include-version=false >/dev/null 2>&1 || { echo "templ generate failed"; exit 1; }; \
	stale=0; for f in $$(find . -name '*_templ.go' -not -path './.git/*'); do \
	  if ! cmp -s "$$f" "$$tmp/$$f"; then echo "stale generated file: $$f (run make generate and commit)"; stale=1; fi; done; \
	rm -rf "$$tmp"; exit $$stale

# Browser tests need Debian's Chromium; the pcapng test reads captures back with tshark.
# As root on Debian they are installed here; elsewhere we say how and stop.
browser:
	@if [ -x /usr/bin/chromium ] && command -v tshark >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium and tshark with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium tshark >/dev/null; \
	else \
	  echo "make test needs Chromium for the browser tests and tshark for the capture test:"; \
	  echo "  sudo apt-get install -y chromium tshark   (Debian/Ubuntu)"; \
	  exit 1; \
	fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./oscore/ ./oscore/edhoc/ ./oscore/group/ ./internal/trace/ ./internal/nodes/

# Runs every Fuzz target for FUZZTIME each.
fuzz:
	@for pkg in $(FUZZ_PKGS); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Applies each deliberate bug of testdata/mutants to a scratch copy of the
# tree and requires the tests named in it to fail (docs/mutants.md).
mutants:
	sh testdata/mutants/check.sh

generate:
	$(GO) tool templ generate -include-version=false
