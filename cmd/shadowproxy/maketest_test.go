package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README says what `make test` installs, as the Makefile does it, and every phase of
// `make test` (its last: make fuzz) announces itself before it runs (deps and lint print nothing
// else while they work).
func TestREADMEStatesWhatMakeTestInstalls(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	doc, mk := string(readme), string(makefile)
	if strings.Contains(doc, "install nothing globally") {
		t.Error("the README says the commands install nothing globally")
	}
	installed := regexp.MustCompile(`apt-get install -y -qq ([a-z0-9-]+)`).FindAllStringSubmatch(mk, -1)
	if len(installed) == 0 {
		t.Fatal("the Makefile installs no package")
	}
	for _, m := range installed {
		if !strings.Contains(doc, "`"+m[1]+"`") {
			t.Errorf("make deps installs %s; the README does not say so", m[1])
		}
	}
	if strings.Contains(mk, "apt-get download -qq prometheus") && !strings.Contains(doc, "`promtool`") {
		t.Error("make deps fetches promtool; the README does not say so")
	}
	if test := mk[strings.Index(mk, "\ntest:"):]; !strings.Contains(test[:strings.Index(test, "\n\n")], "$(MAKE) --no-print-directory fuzz") {
		t.Error("make test does not end with make fuzz")
	}
	for _, target := range []string{"deps", "lint", "test", "fuzz"} {
		body := mk[strings.Index(mk, "\n"+target+":")+1:]
		recipe := strings.SplitN(body, "\n", 3)
		if len(recipe) < 2 || !strings.HasPrefix(recipe[1], "\t@echo \""+target+": ") {
			t.Errorf("make %s does not announce itself first: %q", target, recipe[1])
		}
	}
}
