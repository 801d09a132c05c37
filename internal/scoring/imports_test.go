package scoring_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// forbidden are the imports the domain must not reach: HTTP, the database driver, Redis and
// the logger belong to the routes, the store and the rate limiter.
var forbidden = []string{"net/http", "github.com/jackc/pgx", "github.com/redis/", "go.uber.org/zap"}

// opaque are dependencies whose own imports are not the domain's: the OpenTelemetry API (its
// propagation helpers import net/http; the domain only opens spans).
var opaque = []string{"go.opentelemetry.io/otel"}

// The domain (internal/scoring and its non-test subpackages) imports no HTTP, database, Redis
// or logger package, directly or through another package.
func TestDomainImportsNoHTTPDatabaseRedisOrLogger(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Standard", "shadowproxy/internal/scoring/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		imports[p.ImportPath] = p.Imports
	}
	via := map[string]string{}
	var walk func(pkg, from string)
	walk = func(pkg, from string) {
		if _, seen := via[pkg]; seen {
			return
		}
		via[pkg] = from
		for _, prefix := range forbidden {
			if pkg == prefix || strings.HasPrefix(pkg, strings.TrimSuffix(prefix, "/")+"/") || strings.HasPrefix(pkg, prefix) && strings.HasSuffix(prefix, "/") {
				chain := pkg
				for p := from; p != ""; p = via[p] {
					chain = p + " → " + chain
				}
				t.Errorf("the domain imports %s: %s", pkg, chain)
				return
			}
		}
		for _, prefix := range opaque {
			if strings.HasPrefix(pkg, prefix) {
				return
			}
		}
		for _, imp := range imports[pkg] {
			walk(imp, pkg)
		}
	}
	for pkg := range imports {
		if pkg == "shadowproxy/internal/scoring" || strings.HasPrefix(pkg, "shadowproxy/internal/scoring/") {
			walk(pkg, "")
		}
	}
}
