package config

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"
)

// yamlLine is the "yaml: line N: " prefix of a yaml.v3 syntax error.
var yamlLine = regexp.MustCompile(`^yaml: line \d+: `)

// parseError reports a failure to decode the file b at path. yaml.v3 numbers the lines of its
// parser errors from 0 (and sometimes gives the line where the enclosing block starts), so a
// problem on line 2 reads "line 1". For a syntax error the line is found again here: it is the
// first line at which the file, cut there, fails with the same problem. Type errors
// (*yaml.TypeError) carry correct line numbers and are kept as they are.
func parseError(path string, b []byte, err error) error {
	var typeErr *yaml.TypeError
	problem := yamlLine.ReplaceAllString(err.Error(), "")
	if errors.As(err, &typeErr) || problem == err.Error() {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	for n := 1; n <= len(lines); n++ {
		var node yaml.Node
		cut := yaml.Unmarshal(bytes.Join(lines[:n], nil), &node)
		if cut != nil && yamlLine.ReplaceAllString(cut.Error(), "") == problem {
			return fmt.Errorf("parse %s: line %d: %s", path, n, problem)
		}
	}
	return fmt.Errorf("parse %s: %w", path, err)
}
