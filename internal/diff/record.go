package diff

import (
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"

	"shadowproxy/internal/config"
)

// Outcome is how one shadow run ended.
type Outcome string

// Shadow run outcomes. A run is Order when its only differences beyond noise are ones Django's
// unordered reads explain: it is compared and does not count as a divergence for the gates.
const (
	OutcomeEqual     Outcome = "equal"
	OutcomeNoise     Outcome = "noise"
	OutcomeOrder     Outcome = "order"
	OutcomeDivergent Outcome = "divergent"
	OutcomeRace      Outcome = "race"
	OutcomeError     Outcome = "error"
	OutcomeDropped   Outcome = "dropped"
)

// Outcomes lists every outcome, in the order the report shows them.
var Outcomes = []Outcome{OutcomeEqual, OutcomeNoise, OutcomeOrder, OutcomeDivergent, OutcomeRace, OutcomeError, OutcomeDropped}

// Compared reports whether the outcome is a comparison of Go with Django (equal, noise, order or
// divergent), as opposed to a run that compared nothing.
func (o Outcome) Compared() bool {
	return o == OutcomeEqual || o == OutcomeNoise || o == OutcomeOrder || o == OutcomeDivergent
}

// Run is one shadow comparison. Nothing in it is secret: requests are identified by their id,
// scorer and address, never by headers.
type Run struct {
	ID    int64     `json:"id,omitempty"`
	At    time.Time `json:"at"`
	Route string    `json:"route,omitempty"` // the table route's name
	// Dialect is the dialect the request was parsed and compared in (replay uses it).
	Dialect       config.Dialect  `json:"dialect,omitempty"`
	RequestID     string          `json:"request_id"`
	ScorerID      string          `json:"scorer_id"`
	Address       string          `json:"address"`
	APIKeyPrefix  string          `json:"api_key_prefix,omitempty"` // the key's public part, for replays
	Outcome       Outcome         `json:"outcome"`
	Race          string          `json:"race,omitempty"`
	Error         string          `json:"error,omitempty"`
	Fields        []Field         `json:"fields"` // the non-equal ones
	DjangoStatus  int             `json:"django_status"`
	GoStatus      int             `json:"go_status"`
	DjangoBody    json.RawMessage `json:"django_response,omitempty"`
	GoBody        json.RawMessage `json:"go_response,omitempty"`
	DjangoWrites  *Rows           `json:"django_writes,omitempty"`
	GoWrites      any             `json:"go_writes,omitempty"`
	DjangoLatency time.Duration   `json:"django_latency_ns"`
	GoLatency     time.Duration   `json:"go_latency_ns"`
	// goHeader and goBody are Go's answer's own headers and its body as sent (SetGoAnswer), for
	// the proxy's header comparison; the header fields it gives are what is kept of them.
	goHeader   http.Header
	goBody     []byte
	goAnswered bool
}

// SetGoAnswer records Go's answer on the run: its status and body, and its own headers for
// the proxy's header comparison (GoAnswer).
func (r *Run) SetGoAnswer(status int, header http.Header, body []byte) {
	r.GoStatus, r.GoBody = status, RawJSON(body)
	r.goHeader, r.goBody, r.goAnswered = header, body, true
}

// GoAnswer is Go's answer's own headers and body as sent, and whether Go answered
// (SetGoAnswer was called).
func (r *Run) GoAnswer() (header http.Header, body []byte, answered bool) {
	return r.goHeader, r.goBody, r.goAnswered
}

// Classify sets the run's outcome from its compared fields (all leaves) and keeps only the
// non-equal ones in the run: divergent if any field is, else order if any is, else noise if
// any is, else equal.
func (r *Run) Classify(all []Field) {
	outcome := OutcomeEqual
	r.Fields = r.Fields[:0]
	for _, f := range all {
		switch {
		case f.Class == Divergent:
			outcome = OutcomeDivergent
		case f.Class == Order && outcome != OutcomeDivergent:
			outcome = OutcomeOrder
		case f.Class == Noise && outcome == OutcomeEqual:
			outcome = OutcomeNoise
		}
		if f.Class != Equal {
			r.Fields = append(r.Fields, f)
		}
	}
	switch {
	case r.Error != "":
		r.Outcome = OutcomeError
	case r.Race != "":
		r.Outcome = OutcomeRace
	default:
		r.Outcome = outcome
	}
}

// GateSample is what the run tells the divergence gate: whether it compared Go with Django,
// and whether that comparison diverged (an order run is compared and not divergent).
func (r *Run) GateSample() (compared, divergent bool) {
	return r.Outcome.Compared(), r.Outcome == OutcomeDivergent
}

// PathCounts are a field pattern's counts over all compared runs.
type PathCounts struct {
	Pattern   string `json:"pattern"`
	Equal     int64  `json:"equal"`
	Noise     int64  `json:"noise"`
	Order     int64  `json:"order"`
	Divergent int64  `json:"divergent"`
}

// Minute is one minute of outcomes, for the diff rate over time.
type Minute struct {
	At       time.Time         `json:"at"`
	Outcomes map[Outcome]int64 `json:"outcomes"`
}

// Stats aggregate shadow runs in memory.
type Stats struct {
	mu       sync.Mutex
	paths    map[string]*PathCounts
	outcomes map[Outcome]int64
	minutes  []Minute // the last day (Summary shows the last hour)
	pairs    []latencyPair
	next     int
}

type latencyPair struct{ django, goLatency time.Duration }

const maxPairs = 10_000

// keptMinutes is how many minutes of outcomes Stats keeps (a day), for the divergence since a
// configuration was applied.
const keptMinutes = 24 * 60

// Window is the shadow comparisons of a stretch of time: from From (the later of the time
// asked for and the oldest minute kept) until now. Errors are the runs of that time that ended
// in error (Go failed or ran out of time): no comparison, and no evidence that Go agrees.
type Window struct {
	From      time.Time `json:"from"`
	Compared  int64     `json:"compared"`
	Divergent int64     `json:"divergent"`
	Errors    int64     `json:"errors"`
}

// Rate is the share of the window's comparisons that diverged; 0 without comparisons.
func (w Window) Rate() float64 {
	if w.Compared == 0 {
		return 0
	}
	return float64(w.Divergent) / float64(w.Compared)
}

// Since counts the comparisons and error runs of the minutes from since's minute on (minute
// resolution; at most a day back).
func (s *Stats) Since(since time.Time) Window {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := since.Truncate(time.Minute)
	w := Window{From: from}
	if len(s.minutes) > 0 && s.minutes[0].At.After(from) && len(s.minutes) == keptMinutes {
		w.From = s.minutes[0].At
	}
	for _, m := range s.minutes {
		if m.At.Before(from) {
			continue
		}
		for o, n := range m.Outcomes {
			if o.Compared() {
				w.Compared += n
			}
		}
		w.Divergent += m.Outcomes[OutcomeDivergent]
		w.Errors += m.Outcomes[OutcomeError]
	}
	return w
}

// NewStats returns empty statistics.
func NewStats() *Stats {
	return &Stats{paths: map[string]*PathCounts{}, outcomes: map[Outcome]int64{}}
}

// Add counts one run: its outcome, each compared leaf's class, and its latency pair.
func (s *Stats) Add(r *Run, all []Field) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[r.Outcome]++
	minute := r.At.Truncate(time.Minute)
	if n := len(s.minutes); n == 0 || !s.minutes[n-1].At.Equal(minute) {
		s.minutes = append(s.minutes, Minute{At: minute, Outcomes: map[Outcome]int64{}})
		if len(s.minutes) > keptMinutes {
			s.minutes = s.minutes[1:]
		}
	}
	s.minutes[len(s.minutes)-1].Outcomes[r.Outcome]++
	if r.Outcome == OutcomeDropped || r.Outcome == OutcomeError {
		return
	}
	if r.Outcome != OutcomeRace {
		for _, f := range all {
			pc := s.paths[f.Pattern]
			if pc == nil {
				pc = &PathCounts{Pattern: f.Pattern}
				s.paths[f.Pattern] = pc
			}
			switch f.Class {
			case Equal:
				pc.Equal++
			case Noise:
				pc.Noise++
			case Order:
				pc.Order++
			case Divergent:
				pc.Divergent++
			}
		}
	}
	p := latencyPair{r.DjangoLatency, r.GoLatency}
	if len(s.pairs) < maxPairs {
		s.pairs = append(s.pairs, p)
	} else {
		s.pairs[s.next] = p
		s.next = (s.next + 1) % maxPairs
	}
}

// Summary is the statistics as the admin API and the report show them.
type Summary struct {
	Outcomes                 map[Outcome]int64 `json:"outcomes"`
	Compared                 int64             `json:"compared"`
	DivergeRate              float64           `json:"divergence_rate"`
	Paths                    []PathCounts      `json:"paths"`
	Minutes                  []Minute          `json:"minutes"`
	Latency                  LatencySummary    `json:"latency"`
	djangoLatency, goLatency []time.Duration
}

// LatencySummary is the paired latency of shadowed requests: Go's time over Django's for the
// same request.
type LatencySummary struct {
	Pairs        int     `json:"pairs"`
	RatioMedian  float64 `json:"go_django_ratio_median"`
	RatioP99     float64 `json:"go_django_ratio_p99"`
	DjangoMedian float64 `json:"django_median_ms"`
	GoMedian     float64 `json:"go_median_ms"`
}

// Summary returns a copy of the statistics, divergent patterns first, then order ones.
func (s *Stats) Summary() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Summary{Outcomes: map[Outcome]int64{}}
	for k, v := range s.outcomes {
		out.Outcomes[k] = v
	}
	for o, n := range out.Outcomes {
		if o.Compared() {
			out.Compared += n
		}
	}
	if out.Compared > 0 {
		out.DivergeRate = float64(out.Outcomes[OutcomeDivergent]) / float64(out.Compared)
	}
	for _, pc := range s.paths {
		out.Paths = append(out.Paths, *pc)
	}
	sort.Slice(out.Paths, func(i, j int) bool {
		if out.Paths[i].Divergent != out.Paths[j].Divergent {
			return out.Paths[i].Divergent > out.Paths[j].Divergent
		}
		if out.Paths[i].Order != out.Paths[j].Order {
			return out.Paths[i].Order > out.Paths[j].Order
		}
		return out.Paths[i].Pattern < out.Paths[j].Pattern
	})
	for _, m := range s.minutes[max(0, len(s.minutes)-60):] {
		c := Minute{At: m.At, Outcomes: map[Outcome]int64{}}
		for k, v := range m.Outcomes {
			c.Outcomes[k] = v
		}
		out.Minutes = append(out.Minutes, c)
	}
	for _, p := range s.pairs {
		out.djangoLatency = append(out.djangoLatency, p.django)
		out.goLatency = append(out.goLatency, p.goLatency)
	}
	ratios := s.ratiosLocked()
	out.Latency.Pairs = len(s.pairs)
	out.Latency.RatioMedian, out.Latency.RatioP99 = quantile(ratios, 0.5), quantile(ratios, 0.99)
	out.Latency.DjangoMedian = ms(quantileD(out.djangoLatency, 0.5))
	out.Latency.GoMedian = ms(quantileD(out.goLatency, 0.5))
	return out
}

// ratiosLocked is the Go/Django latency ratio of each kept pair whose Django latency is known;
// the caller holds s.mu.
func (s *Stats) ratiosLocked() []float64 {
	ratios := make([]float64, 0, len(s.pairs))
	for _, p := range s.pairs {
		if p.django > 0 {
			ratios = append(ratios, float64(p.goLatency)/float64(p.django))
		}
	}
	return ratios
}

// LatencyRatios is Summary's Latency.RatioMedian and RatioP99 alone: the kept pairs' ratios
// copied under the lock, sorted once outside it (what a metrics scrape needs, without the
// rest of the summary).
func (s *Stats) LatencyRatios() (median, p99 float64) {
	s.mu.Lock()
	ratios := s.ratiosLocked()
	s.mu.Unlock()
	sort.Float64s(ratios)
	return sortedQuantile(ratios, 0.5), sortedQuantile(ratios, 0.99)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quantile(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return sortedQuantile(s, q)
}

// sortedQuantile is the q quantile of sorted xs (0 when there are none).
func sortedQuantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[int(q*float64(len(xs)-1))]
}

func quantileD(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}

// RawJSON keeps b as JSON when it is JSON, and as a JSON string of its text otherwise.
func RawJSON(b []byte) json.RawMessage {
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	s, _ := json.Marshal(string(b))
	return s
}
