// Package diff compares Django with the Go scorer: their HTTP answers and the rows each would
// leave in the database, with noise rules for fields that legitimately differ between two
// runs. It records the outcomes, keeps statistics and divergent exemplars, and renders the
// report.
package diff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"shadowproxy/internal/config"
)

// Class is how one compared field came out.
type Class string

// Classes of a compared field. Order is a difference that Django's unordered reads explain
// (see ExplainOrder): Django itself gives it from one run to the next.
const (
	Equal     Class = "equal"
	Noise     Class = "noise"
	Order     Class = "order"
	Divergent Class = "divergent"
)

// Field is one compared leaf. Pattern aggregates Path for statistics: provider names and
// hashes are replaced by "*".
type Field struct {
	Path    string `json:"path"`
	Pattern string `json:"pattern"`
	Class   Class  `json:"class"`
	Django  any    `json:"django,omitempty"`
	Go      any    `json:"go,omitempty"`
	Rule    string `json:"rule,omitempty"` // the noise rule that applied
}

// NoiseRule makes differences at Pattern noise: timestamps at most Tolerance apart, or any
// difference when Tolerance is zero. Every rule says why.
type NoiseRule struct {
	Pattern   string        `json:"pattern"`
	Tolerance time.Duration `json:"tolerance"`
	Reason    string        `json:"reason"`
}

// DefaultNoiseRules are the differences expected between two correct runs of one request,
// for shadows whose life is bounded by shadowTimeout (SHADOWPROXY_SHADOW_TIMEOUT): their
// timestamps may differ by TimestampTolerance(shadowTimeout).
func DefaultNoiseRules(shadowTimeout time.Duration) []NoiseRule {
	const why = "each run stamps its own clock while the shadow lives (SHADOWPROXY_SHADOW_TIMEOUT, plus 1 s of clock skew); the Go shadow runs after Django answered"
	const newID = "a new row's id is Django's sequence value; the shadow inserts nothing, so Go's new rows have none"
	tolerance := TimestampTolerance(shadowTimeout)
	return []NoiseRule{
		{Pattern: "body.last_score_timestamp", Tolerance: tolerance, Reason: why},
		{Pattern: "body.score.last_score_timestamp", Tolerance: tolerance, Reason: why}, // the embed and ceramic-cache routes' score
		{Pattern: "writes.score.last_score_timestamp", Tolerance: tolerance, Reason: why},
		{Pattern: "writes.events.scu.fields.last_score_timestamp", Tolerance: tolerance, Reason: why},
		{Pattern: "writes.events.scu.created_at", Tolerance: tolerance, Reason: why},
		{Pattern: "writes.events.ldp.*.created_at", Tolerance: tolerance, Reason: why},
		// The Passport app's routes (/ceramic-cache/*) write ceramic-cache rows.
		{Pattern: "body.stamps[*].id", Reason: newID},
		{Pattern: "body.stamps[].order", Reason: "the live stamps are read without ORDER BY (the plan may walk the live-row index, " +
			"by provider, or the heap); where the new rows land is known only once they are written, and the shadow writes nothing"},
		{Pattern: "writes.ceramic_cache.inserted.*.id", Reason: newID},
		{Pattern: "writes.ceramic_cache.inserted.*.created_at", Tolerance: tolerance, Reason: why},
		{Pattern: "writes.ceramic_cache.inserted.*.updated_at", Tolerance: tolerance, Reason: why},
		{Pattern: "writes.ceramic_cache.soft_deleted.*.updated_at", Tolerance: tolerance, Reason: why},
		{Pattern: "writes.ceramic_cache.soft_deleted.*.deleted_at", Tolerance: tolerance, Reason: why},
		{Pattern: HalfWayCrashPattern, Reason: "Django's bulk POST/PATCH commits its soft delete, then raises while building the " +
			"new rows (a null stamp, a stamp without proof.proofValue, a provider listed twice); Go answers the same 500 " +
			"but writes nothing (README, parity: a deliberate difference)"},
	}
}

// TimestampTolerance is how far apart the timestamps two correct runs of one shadowed request
// write may be: Django stamps its clock after the request arrived and before it answered, Go
// the proxy's clock during its run, and both are done by the snapshot's deadline, shadowTimeout
// after the request arrived (a slower Django drops the shadow, a slower Go ends it in error);
// clockSkew allows for Django's clock against the proxy's. A wider gap is a wrong timestamp (a
// stale clock, a stored row's time kept), not noise.
func TimestampTolerance(shadowTimeout time.Duration) time.Duration {
	return shadowTimeout + clockSkew
}

// HalfWayCrashPattern is the field of a bulk request Django answers 500 after its soft delete
// committed: Django's soft deletes, Go's none.
const HalfWayCrashPattern = "writes.ceramic_cache.soft_deleted_before_crash"

// ReplayNoiseRules are the noise rules of a replay: the request is scored again long after
// Django answered, so last_score_timestamp differs by any amount.
func ReplayNoiseRules() []NoiseRule {
	rules := DefaultNoiseRules(0) // every tolerance is replaced below
	for i := range rules {
		rules[i].Tolerance = 0
		rules[i].Reason = "a replay scores again long after Django answered"
	}
	return rules
}

// DecodeJSON parses one JSON value keeping numbers as their literal text, so 25.0 and 25 differ
// as they do in jsonb and on the wire; anything after the value but white space is an error
// (an answer written twice is not its first half).
func DecodeJSON(b []byte) (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

// CanonicalJSON is b re-encoded from DecodeJSON (keys sorted, no spaces, numbers as written),
// or b itself when it is not one JSON value.
func CanonicalJSON(b []byte) string {
	v, err := DecodeJSON(b)
	if err != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// compareValues compares two decoded JSON values under prefix and returns every leaf, equal
// or not, classified with the noise rules.
func compareValues(prefix string, django, goValue any, rules []NoiseRule) []Field {
	c := &collector{prefix: prefix}
	cmp.Equal(django, goValue, cmp.Reporter(c))
	for i := range c.fields {
		classify(&c.fields[i], rules)
	}
	return c.fields
}

// collector is a go-cmp reporter that records every leaf with its path.
type collector struct {
	prefix string
	path   cmp.Path
	fields []Field
}

func (c *collector) PushStep(ps cmp.PathStep) { c.path = append(c.path, ps) }
func (c *collector) PopStep()                 { c.path = c.path[:len(c.path)-1] }

func (c *collector) Report(r cmp.Result) {
	vx, vy := c.path.Last().Values()
	f := Field{Path: c.render(false), Pattern: c.render(true), Class: Equal}
	if !r.Equal() {
		f.Class, f.Django, f.Go = Divergent, valueOf(vx), valueOf(vy)
	}
	c.fields = append(c.fields, f)
}

func valueOf(v reflect.Value) any {
	if !v.IsValid() {
		return "(absent)"
	}
	return v.Interface()
}

// render writes the path as prefix.key.key[i]; with wildcard, keys of the maps whose keys are
// data (stamps, stamp_scores, hash links) become "*".
func (c *collector) render(wildcard bool) string {
	var b strings.Builder
	b.WriteString(c.prefix)
	parent := ""
	for _, step := range c.path {
		switch s := step.(type) {
		case cmp.MapIndex:
			key := fmt.Sprint(s.Key().Interface())
			if wildcard && config.DataKeyed[parent] {
				key = "*"
			}
			b.WriteString(".")
			b.WriteString(key)
			parent = key
		case cmp.SliceIndex:
			fmt.Fprintf(&b, "[%d]", s.Key())
		}
	}
	return b.String()
}

func classify(f *Field, rules []NoiseRule) {
	if f.Class == Equal {
		return
	}
	for _, r := range rules {
		if r.Pattern != f.Pattern {
			continue
		}
		if r.Tolerance == 0 || withinTolerance(f.Django, f.Go, r.Tolerance) {
			f.Class, f.Rule = Noise, r.Pattern+": "+r.Reason
		}
		return
	}
}

// CompareValue compares one leaf that a route compares itself (a row's column, say): equal
// when the values are deeply equal, else divergent unless a noise rule for pattern allows it.
func CompareValue(path, pattern string, django, goValue any, rules []NoiseRule) Field {
	f := Field{Path: path, Pattern: pattern, Class: Equal}
	if !reflect.DeepEqual(django, goValue) {
		f.Class, f.Django, f.Go = Divergent, django, goValue
		classify(&f, rules)
	}
	return f
}

func withinTolerance(a, b any, tol time.Duration) bool {
	ta, okA := parseTime(a)
	tb, okB := parseTime(b)
	if !okA || !okB {
		return false
	}
	d := ta.Sub(tb)
	return d <= tol && d >= -tol
}

func parseTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// Response is an HTTP answer as compared: status and body. Header, Django's headers as the
// proxy received them, is compared by the proxy (CompareHeaders); nil when not known (a
// capture, which keeps none).
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// CompareResponses compares Django's answer with Go's: the status, then the bodies as parsed
// JSON (stamps compared by provider; key order ignored except for the keys of every "stamps"
// object, at any depth, whose order is a leaf of its own, "body.stamps" or
// "body.score.stamps" say, classed Order when it is the only difference).
func CompareResponses(django, goResp Response, rules []NoiseRule) []Field {
	fields := []Field{{Path: "status", Pattern: "status", Class: Equal}}
	if django.Status != goResp.Status {
		fields[0] = Field{Path: "status", Pattern: "status", Class: Divergent, Django: django.Status, Go: goResp.Status}
	}
	dv, errD := DecodeJSON(django.Body)
	gv, errG := DecodeJSON(goResp.Body)
	if errD != nil || errG != nil {
		f := Field{Path: "body", Pattern: "body", Class: Equal}
		if !bytes.Equal(django.Body, goResp.Body) {
			f.Class, f.Django, f.Go = Divergent, string(django.Body), string(goResp.Body)
		}
		return append(fields, f)
	}
	fields = append(fields, compareValues("body", dv, gv, rules)...)
	return append(fields, compareStampOrder(django.Body, goResp.Body)...)
}

// ruleStampOrder is why a difference in the order of the keys of stamps alone is Order.
const ruleStampOrder = "stamps key order: Django reads the ceramic cache and registry_stamp without ORDER BY, so the order follows PostgreSQL's row order"

// compareStampOrder compares the order of the keys of each "stamps" object both answers hold
// at the same path with the same keys (a different key set is already divergent, key by key).
func compareStampOrder(django, goBody []byte) []Field {
	dk := stampsKeyOrders(django)
	gk := stampsKeyOrders(goBody)
	var fields []Field
	for _, path := range slices.Sorted(maps.Keys(dk)) {
		d, g := dk[path], gk[path]
		if g == nil || !sameKeySet(d, g) {
			continue
		}
		f := Field{Path: path, Pattern: path, Class: Equal}
		if !slices.Equal(d, g) {
			f.Class, f.Django, f.Go, f.Rule = Order, strings.Join(d, ","), strings.Join(g, ","), ruleStampOrder
		}
		fields = append(fields, f)
	}
	return fields
}

// stampsKeyOrders returns the keys, in document order, of every object that is the value of a
// member named "stamps" in body, by its path ("body.stamps", "body.score.stamps",
// "body.items[2].stamps"); none when body is not JSON.
func stampsKeyOrders(body []byte) map[string][]string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	out := map[string][]string{}
	if _, err := walkKeyOrders(dec, "body", out); err != nil {
		return nil
	}
	return out
}

// walkKeyOrders reads one value from dec at path, records the key order of the "stamps"
// objects within it, and returns its keys when it is an object (nil otherwise).
func walkKeyOrders(dec *json.Decoder, path string, out map[string][]string) ([]string, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t {
	case json.Delim('{'):
		keys := []string{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string)
			keys = append(keys, k)
			child, err := walkKeyOrders(dec, path+"."+k, out)
			if err != nil {
				return nil, err
			}
			if k == "stamps" && child != nil {
				out[path+"."+k] = child
			}
		}
		_, err := dec.Token()
		return keys, err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if _, err := walkKeyOrders(dec, fmt.Sprintf("%s[%d]", path, i), out); err != nil {
				return nil, err
			}
		}
		_, err := dec.Token()
		return nil, err
	}
	return nil, nil
}

func sameKeySet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
