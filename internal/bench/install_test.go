package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// The bench runs copies of the binaries it is given, byte for byte and executable, named by
// their directory and file names as the reports name them; a binary that does not exist is
// left for the mode that needs it to report.
func TestInstalledBinariesAreExactCopies(t *testing.T) {
	src := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	given := Options{WorkDir: t.TempDir(), Binary: write("bin/shadowproxy", "new"), Baseline: write("old/shadowproxy", "old"),
		LambdaBinary: filepath.Join(src, "bin/lambda/bootstrap")}
	missing := given.LambdaBinary
	o := given
	if err := installBinaries(&o); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{o.Binary: "new", o.Baseline: "old"} {
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Fatalf("%s: %q %v, want %q", path, got, err, want)
		}
		info, _ := os.Stat(path)
		if info.Mode().Perm()&0o100 == 0 {
			t.Fatalf("%s is not executable: %v", path, info.Mode())
		}
		if rel, _ := filepath.Rel(o.WorkDir, path); filepath.Dir(filepath.Dir(filepath.Dir(rel))) != "installed" {
			t.Fatalf("%s is not under the work directory's installed/", path)
		}
	}
	if name := filepath.Base(filepath.Dir(o.Binary)) + "-" + filepath.Base(o.Binary); name != "bin-shadowproxy" {
		t.Fatalf("the report would name the binary %q", name)
	}
	if o.LambdaBinary != missing {
		t.Fatalf("a missing binary was replaced: %s", o.LambdaBinary)
	}
	again := given // the next run in the same work directory
	if err := installBinaries(&again); err != nil || again.Binary != o.Binary {
		t.Fatalf("installing over a previous run: %v (%s)", err, again.Binary)
	}
	if got, _ := os.ReadFile(again.Binary); string(got) != "new" {
		t.Fatalf("the second installation holds %q", got)
	}
}
