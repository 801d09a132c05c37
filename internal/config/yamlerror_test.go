package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// A YAML error is reported on the line where the problem is, counted from 1 as editors do.
func TestYAMLErrorsNameTheirLine(t *testing.T) {
	for _, c := range []struct {
		file string
		line string
	}{
		{"go_percent: 1\n- x\n", "line 2: did not find expected key"},
		{"# rollout\n\ngo_percent: 1\n: x\n", "line 4: did not find expected key"},
		{"go_percent: 1\nshadow_percent: 2\n  kill_switch: true\n", "line 3: mapping values are not allowed"},
		{"salt: \"two\n  lines\"\ngo_percent: 1\n- x\n", "line 4: did not find expected key"},
		{"go_percent: 1\nsalt: 'open\n", "line 2: found unexpected end of stream"},
		{"go_percent: 1\nbreaker_failures: many\n", "line 2: cannot unmarshal !!str `many` into int"},
	} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		write(t, path, c.file)
		_, err := Load(path, env(nil))
		if err == nil || !strings.Contains(err.Error(), c.line) {
			t.Errorf("%q: got %v, want %q", c.file, err, c.line)
		}
	}
}
