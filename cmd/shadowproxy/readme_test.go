package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"shadowproxy/internal/config"
)

// source is every non-test Go file of the module, concatenated, except the chaos harness: it
// names the settings it sets, which must not stand in for the binary reading them.
func source(t *testing.T) string {
	var b strings.Builder
	err := filepath.WalkDir(filepath.Join("..", ".."), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "chaos") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			c, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b.Write(c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The README's guide matches the binary: every setting, endpoint, subcommand and flag it names
// exists in the code.
func TestREADMEMatchesTheBinary(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	src := source(t)
	doc := string(readme)
	routeEnv := map[string]bool{} // SHADOWPROXY_ROUTE_<NAME>_<KEY>, which config builds from the names
	for _, r := range config.RouteNames {
		for _, k := range config.RouteKeys {
			routeEnv[config.RouteEnvName(r, k)] = true
		}
	}
	for _, name := range regexp.MustCompile(`SHADOWPROXY_[A-Z0-9_]+[A-Z0-9]`).FindAllString(doc, -1) {
		key := strings.ToLower(strings.TrimPrefix(name, "SHADOWPROXY_"))
		if !strings.Contains(src, `"`+name+`"`) && !strings.Contains(src, `"`+key+`"`) && !routeEnv[name] {
			t.Errorf("README names %s, which the code never reads", name)
		}
	}
	for _, m := range regexp.MustCompile("`(GET|PUT|POST|DELETE) (/[a-z/{}]+)`").FindAllStringSubmatch(doc, -1) {
		if !strings.Contains(src, `"`+m[1]+" "+m[2]+`"`) {
			t.Errorf("README names endpoint %s %s, which the admin listener does not serve", m[1], m[2])
		}
	}
	for _, cmd := range []string{"serve", "credential", "replay", "healthcheck", "version"} {
		if !strings.Contains(doc, "shadowproxy "+cmd) || !strings.Contains(src, `case "`+cmd+`":`) {
			t.Errorf("subcommand %s is not both documented and implemented", cmd)
		}
	}
	for _, flag := range regexp.MustCompile(`\[--([a-z-]+)`).FindAllStringSubmatch(doc, -1) {
		if !strings.Contains(src, `"`+flag[1]+`"`) {
			t.Errorf("README names flag --%s, which no subcommand defines", flag[1])
		}
	}
}
