# shadowproxy: run `make demo` to see it work and `make test` to check it.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
BIN := bin/shadowproxy

.PHONY: build demo test lint vectors bench clean

build:
	$(GO) build -o $(BIN) ./cmd/shadowproxy

demo: build
	$(GO) run ./cmd/demo -binary $(BIN) $(DEMO_FLAGS)

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

test: lint
	$(GO) test -count=1 ./...
	CGO_ENABLED=0 $(GO) test -count=1 ./internal/scoring/credential/...

# Benchmarks with their reported figures (verification per core, pass-through floors).
bench:
	$(GO) test ./internal/scoring/credential/ -run XXX -bench . -cpu 1 -count 3
	CGO_ENABLED=0 $(GO) test ./internal/scoring/credential/ -run XXX -bench VerifyCold -cpu 1 -count 3
	$(GO) test ./internal/proxy/ -run XXX -bench PassThroughFloors -benchtime 1x -count 3

# Regenerate the signed credential vectors with the IAM's didkit build (needs npm).
vectors:
	cd testdata/credentials/generator && npm ci --no-audit --no-fund && node generate.js ../vectors.json

clean:
	rm -rf bin .tmp
