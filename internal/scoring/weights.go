package scoring

import (
	"fmt"
	"maps"
	"strings"
	"sync"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring/credential"
)

// Weights is a scorer's weights dict after Django merges the community's customization into
// it: provider → the JSON value as json.loads returned it. Values are converted to Decimal only
// when a stamp needs them, as Django does, so a bad value fails only when it is used.
type Weights struct {
	null   bool // scorer.weights is NULL (Python None)
	values map[string]credential.Value
}

// parseWeights reads the scorer's weights jsonb text ("" for NULL). The same text always reads
// the same, so a text read before is not parsed again (see parsedWeights); the Weights returned
// share their values with other requests and are changed only through merge.
func parseWeights(text string) (Weights, error) {
	if text == "" {
		return Weights{null: true}, nil
	}
	if w, ok := parsedWeights.get(text); ok {
		return w, nil
	}
	w, err := readWeights(text)
	if err == nil {
		parsedWeights.put(text, w)
	}
	return w, err
}

// weightsMemo maps weights texts to their parse, at most weightsMemoSize of them (emptied
// when full). It is keyed by the text the request read, never by community: a scorer whose
// weights change reads as its new text on the next request.
type weightsMemo struct {
	mu sync.Mutex
	m  map[string]Weights
}

const weightsMemoSize = 1024

var parsedWeights weightsMemo

func (c *weightsMemo) get(text string) (Weights, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.m[text]
	return w, ok
}

func (c *weightsMemo) put(text string, w Weights) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= weightsMemoSize {
		c.m = make(map[string]Weights)
	}
	c.m[text] = w
}

// readWeights parses a weights text that is not NULL.
func readWeights(text string) (Weights, error) {
	v, err := credential.ParseJSON([]byte(text))
	if err != nil {
		return Weights{}, fmt.Errorf("scorer weights: %w", err)
	}
	if v.Kind != credential.Object {
		return Weights{}, fmt.Errorf("scorer weights are not a JSON object")
	}
	w := Weights{values: make(map[string]credential.Value, len(v.Members))}
	for _, m := range v.Members {
		w.values[m.Key] = m.Value
	}
	return w, nil
}

// customWeight is one customization weight: "AllowList#<name>" or a custom credential's
// provider id, with the numeric(7,4) weight as text (Django uses str(Decimal)).
type customWeight struct {
	Key    string
	Weight string
}

// merge mirrors weights.update(customization dynamic weights); it fails like Python when the
// scorer's weights are None. The values are copied first: parseWeights shares them.
func (w *Weights) merge(custom []customWeight) error {
	if w.null {
		return fmt.Errorf("'NoneType' object has no attribute 'update'")
	}
	w.values = maps.Clone(w.values)
	for _, c := range custom {
		w.values[c.Key] = credential.Value{Kind: credential.String, Str: c.Weight}
	}
	return nil
}

// weight mirrors Decimal(weights.get(provider, 0)).
func (w *Weights) weight(provider string) (pycompat.Decimal, error) {
	if w.null {
		return pycompat.Decimal{}, fmt.Errorf("'NoneType' object has no attribute 'get'")
	}
	v, ok := w.values[provider]
	if !ok {
		return pycompat.DecimalFromInt(0), nil
	}
	switch v.Kind {
	case credential.Number:
		if strings.ContainsAny(v.Str, ".eE") { // json.loads gives a float
			f, err := parseFloat(v.Str)
			if err != nil {
				return pycompat.Decimal{}, err
			}
			d, ok := pycompat.DecimalFromFloat(f)
			if !ok {
				return pycompat.Decimal{}, fmt.Errorf("cannot convert %s to a finite Decimal", v.Str)
			}
			return d, nil
		}
		return pycompat.ParseDecimal(v.Str)
	case credential.String:
		return pycompat.ParseDecimal(v.Str)
	case credential.Bool:
		if v.Str == "true" {
			return pycompat.DecimalFromInt(1), nil
		}
		return pycompat.DecimalFromInt(0), nil
	case credential.Array:
		return pycompat.Decimal{}, fmt.Errorf("conversion from list to Decimal is not supported")
	case credential.Object:
		return pycompat.Decimal{}, fmt.Errorf("conversion from dict to Decimal is not supported")
	}
	return pycompat.Decimal{}, fmt.Errorf("conversion from NoneType to Decimal is not supported")
}
