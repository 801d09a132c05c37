# shadowproxy: run `make demo` to see it work and `make test` to check it.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
# How long `make fuzz` runs each fuzz target after its seed corpus.
FUZZTIME ?= 50000x
BIN := bin/shadowproxy

.PHONY: build demo deps test fuzz lint vectors bench chaos capture-demo lambda screenshots clean

build:
	$(GO) build -o $(BIN) ./cmd/shadowproxy

demo: build
	$(GO) run ./cmd/demo -binary $(BIN) $(DEMO_FLAGS)

lint:
	@echo "lint: gofmt, go vet, staticcheck $(STATICCHECK_VERSION)"
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# Debian packages the tests use: PostgreSQL server binaries (private clusters), redis-server
# (rate limiting against Django's cache) and chromium (the report page is checked in a real
# headless browser), installed with apt-get only when missing. promtool (the alert rules' unit
# tests) is taken out of Debian's prometheus package into .tmp/tools without installing it:
# installing would also enable a Prometheus server on port 9090, the admin listener's default.
deps:
	@echo "deps: checking for pg_ctl, redis-server, chromium, promtool"
	@command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || \
	  { echo "installing postgresql"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	@command -v redis-server >/dev/null 2>&1 || \
	  { echo "installing redis-server"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@test -x /usr/bin/chromium || \
	  { echo "installing chromium"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v promtool >/dev/null 2>&1 || test -x .tmp/tools/promtool || \
	  { echo "extracting promtool from Debian's prometheus package into .tmp/tools"; mkdir -p .tmp/tools && cd .tmp/tools && \
	    { apt-get download -qq prometheus 2>/dev/null || { apt-get update -qq && apt-get download -qq prometheus; }; } && \
	    dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x --strip-components=3 ./usr/bin/promtool && rm prometheus_*.deb; }

test: deps lint
	@echo "test: go test -race ./... (a line per package as it finishes)"
	$(GO) test -race -count=1 ./...
	@echo "test: the credential package again without cgo (pure-Go secp256k1)"
	CGO_ENABLED=0 $(GO) test -count=1 ./internal/scoring/credential/...
	@$(MAKE) --no-print-directory fuzz

# Every fuzz target of the repository (each `func Fuzz...` in a _test.go file, found afresh, so a
# new target is run without editing this), one after the other, each for FUZZTIME beyond its
# committed seed corpus. FUZZTIME is an execution count: a duration arms a deadline inside Go's
# fuzz coordinator that can race its workers and fail a clean run ("context deadline exceeded"). A failing input is kept under the package's testdata/fuzz.
fuzz:
	@echo "fuzz: every fuzz target for $(FUZZTIME) each"
	@grep -rHn --include='*_test.go' --exclude-dir=.tmp --exclude-dir=node_modules -E '^func Fuzz[A-Za-z0-9_]*\(' . | \
	  sed -E 's|^(.*)/[^/:]*:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort | \
	  while read -r pkg name; do \
	    echo "fuzz: $$name in $$pkg"; \
	    $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) "$$pkg" || exit 1; \
	  done

# The load harness (database floor, scoring, pass-through, shadow, memory, soak) and the
# micro-benchmarks, with their figures, and the Lambda build against a Runtime API emulator.
# BENCH_FLAGS=-soak=10m for the full soak.
bench: deps build lambda
	$(GO) run ./cmd/bench -binary $(BIN) $(BENCH_FLAGS)
	$(GO) test ./internal/scoring/credential/ -run XXX -bench . -cpu 1 -count 3
	CGO_ENABLED=0 $(GO) test ./internal/scoring/credential/ -run XXX -bench VerifyCold -cpu 1 -count 3
	$(GO) test ./internal/proxy/ -run XXX -bench PassThroughFloors -benchtime 1x -count 3
	$(GO) test ./internal/proxy/ -run XXX -bench ShadowClientCost -benchtime 1x

# Faults and hostile input against the built binary (about 2 minutes): a table of client errors,
# fallbacks, double writes and recovery times; exits 1 when a promise is broken.
# CHAOS_FLAGS="-run locks" runs one family; -strict=false only reports.
chaos: deps build
	$(GO) run ./cmd/chaos -binary $(BIN) $(CHAOS_FLAGS)

# The Go scorer as an AWS Lambda function behind an ALB (provided.al2023 runtime): bin/lambda.zip.
# Linked statically with cgo, so stamp signatures are checked with libsecp256k1 (about four
# times faster than the pure-Go back end, `go test ./internal/scoring/credential -bench Recover`);
# where no C toolchain can link a static linux/amd64 binary, the pure-Go back end is built instead.
LAMBDA_BUILD = GOOS=linux GOARCH=amd64 $(GO) build -trimpath -o bin/lambda/bootstrap
lambda:
	mkdir -p bin/lambda
	CGO_ENABLED=1 $(LAMBDA_BUILD) -tags lambda.norpc,netgo,osusergo -ldflags "-s -w -linkmode external -extldflags -static" ./cmd/lambda || \
	  { echo "lambda: no static cgo build here; using the pure-Go secp256k1 back end"; \
	    CGO_ENABLED=0 $(LAMBDA_BUILD) -tags lambda.norpc -ldflags "-s -w" ./cmd/lambda; }
	cd bin/lambda && rm -f ../lambda.zip && $(GO) run ../../internal/tools/zipfile ../lambda.zip bootstrap

# Record the shipped demo capture (testdata/capture/demo.jsonl) that CI replays.
capture-demo: build
	mkdir -p testdata/capture
	$(GO) run ./cmd/demo -binary $(BIN) -write-capture testdata/capture/demo.jsonl

# Take the README's screenshots of the status page and the diff review again (docs/*.png), from
# their headless-Chromium tests.
screenshots: deps
	SHADOWPROXY_SCREENSHOTS=$(CURDIR)/docs $(GO) test -count=1 ./internal/proxy/ -run InHeadlessChromium

# Regenerate the signed credential vectors with the IAM's didkit build (needs npm).
vectors:
	cd testdata/credentials/generator && npm ci --no-audit --no-fund && node generate.js ../vectors.json

clean:
	rm -rf bin .tmp
