package proxy

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"shadowproxy/internal/config"
	"shadowproxy/internal/diff"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/route"
)

// Admin is the admin listener: health, metrics and the rollout API.
type Admin struct {
	Rollout *Rollout
	// Routes is the route table (for the method, pattern and key each route shows); nil shows
	// the routes of config.RouteNames by name only.
	Routes   []route.Route
	Breakers *Breakers
	Metrics  *Metrics
	// Registry is served on /metrics.
	Registry *prometheus.Registry
	// Ping checks the database for /healthz; nil means there is no database to check.
	Ping func(context.Context) error
	// Recorder holds the shadow comparisons; nil when shadow mode is unavailable.
	Recorder *diff.Recorder
	// ShadowTimeout is the shadows' SHADOWPROXY_SHADOW_TIMEOUT, which sets the default noise
	// rules' tolerance the review page shows (zero: its default).
	ShadowTimeout time.Duration
	// Gates are the gate controllers by route name; a route without one shows its gates off.
	Gates map[string]*gate.Controller
	// Token guards the write endpoints (bearer), named "admin" in the history, and, when set,
	// the stored exemplars and the admin pages (bearer, or basic authentication with the token
	// as password for browsers); Tokens holds more, by name (SHADOWPROXY_ADMIN_TOKENS). With
	// neither the API is read-only and those pages open.
	Token  string
	Tokens map[string]string
	// Control stores the admin layer for the cluster and records its history; nil keeps both
	// in this process.
	Control *Control
	// NoGo is the Handler's NoGo: when set, Go is off and the status pages say Django answers
	// every request, whatever the shares.
	NoGo string
	// Now is the clock of the status page; nil: time.Now.
	Now func() time.Time
	Log *zap.Logger

	draining atomic.Bool
}

// RolloutStatus is GET /admin/rollout's answer: the global settings (the defaults of every
// route that sets none) and each route's effective settings with their sources.
type RolloutStatus struct {
	Mode          string  `json:"mode"`
	GoPercent     float64 `json:"go_percent"`
	ShadowPercent float64 `json:"shadow_percent"`
	KillSwitch    bool    `json:"kill_switch"`
	ConfigVersion string  `json:"config_version"`
	ConfigSource  string  `json:"config_source"`
	ConfigError   string  `json:"config_error,omitempty"`
	ConfigPending string  `json:"config_pending,omitempty"`
	// Sources says where each global value came from: default, file, env, admin, local (a kill
	// switch given to this replica while the shared state was unreachable) or unread.
	Sources    map[string]string `json:"sources"`
	AdminState string            `json:"admin_state"`
	Overrides  Overrides         `json:"admin_overrides"`
	Breaker    BreakerState      `json:"breaker"`
	Salt       string            `json:"salt"`
	Fallback   bool              `json:"fallback"`
	Routes     []RouteStatus     `json:"routes"`
}

// RouteStatus is one route in GET /admin/rollout.
type RouteStatus struct {
	Name    string        `json:"name"`
	Method  string        `json:"method,omitempty"`
	Pattern string        `json:"pattern,omitempty"`
	Writes  bool          `json:"writes"`
	Key     route.KeyKind `json:"key,omitempty"`
	Mode    string        `json:"mode"`
	config.Effective
	AdminOverrides Overrides `json:"admin_overrides"`
	// ShareReason says why Go's effective share is what it is: a setting the route needs that
	// the process lacks, the kill switch, a gate trip, the breaker, or the source of go_percent
	// (admin, ladder step, file, env, default).
	ShareReason string `json:"share_reason"`
	// GoShare is the share of the route's requests Go serves as things stand: go_percent, or 0
	// under the kill switch, with Go off (no DATABASE_URL), or when the process's settings
	// leave the route to Django (a setting its parsing needs is unset; share_reason names it).
	GoShare float64 `json:"go_share"`
	// ShadowShare is the share of the route's Django-served requests Go also runs in shadow as
	// things stand (shadow_percent, or 0 under the kill switch or on a route the settings leave
	// to Django), and ShadowReason why: a red gate holds Go's share only, and shadow goes on.
	ShadowShare  float64      `json:"shadow_share"`
	ShadowReason string       `json:"shadow_reason"`
	GateTripped  string       `json:"gate_tripped,omitempty"`
	RampStep     int          `json:"ramp_step"`
	Breaker      BreakerState `json:"breaker"`
}

// Handler returns the admin mux.
func (a *Admin) Handler() http.Handler {
	if a.Control == nil {
		a.Control = &Control{Rollout: a.Rollout}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("GET /admin/rollout", func(w http.ResponseWriter, r *http.Request) { a.writeStatus(w, a.Rollout.Load()) })
	mux.HandleFunc("PUT /admin/rollout", a.authorized(a.putRollout))
	mux.HandleFunc("DELETE /admin/rollout/overrides", a.authorized(a.clearOverrides))
	mux.HandleFunc("GET /admin/rollout/history", a.history)
	// Exemplars hold full credentials, addresses and scores.
	mux.HandleFunc("GET /admin/diffs", a.readGuarded(a.diffs))
	mux.HandleFunc("GET /admin/diffs/{id}", a.readGuarded(a.diffByID))
	mux.HandleFunc("GET /admin/report", a.readGuarded(a.report))
	mux.HandleFunc("GET /admin/gates", a.gates)
	mux.HandleFunc("GET /admin/status", a.readGuarded(a.statusPage))
	mux.HandleFunc("GET /admin/review", a.readGuarded(a.review))
	mux.HandleFunc("GET /admin/review/{id}", a.readGuarded(a.reviewExemplar))
	// Profiles behind the admin token: they expose internals.
	mux.HandleFunc("GET /debug/pprof/", a.authorized(pprof.Index))
	mux.HandleFunc("GET /debug/pprof/profile", a.authorized(pprof.Profile))
	mux.HandleFunc("GET /debug/pprof/trace", a.authorized(pprof.Trace))
	mux.HandleFunc("POST /admin/gates/reset", a.authorized(a.resetGates))
	return mux
}

// GatesStatus is one route's gates in GET /admin/gates.
type GatesStatus struct {
	Route   string        `json:"route"`
	Enabled bool          `json:"enabled"`
	State   gate.State    `json:"state"`
	Gates   []gate.Result `json:"gates"`
	Ladder  []LadderStep  `json:"ramp_ladder,omitempty"`
	// HoldingTrip is why a trip holds Go's share at 0 now, as the route's share_reason says;
	// it holds with the gates off too (a trip in the shared row stays until an operator resets).
	HoldingTrip string `json:"holding_trip,omitempty"`
}

// LadderStep is a rung of the ramp ladder as the admin API shows it: the hold in human units.
type LadderStep struct {
	Percent float64 `json:"percent"`
	Hold    string  `json:"hold"`
}

// HumanDuration writes d as Go does, without the zero units at its end: 30m, 1h, 1h30m, 45s.
func HumanDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// GatesList is GET /admin/gates' answer without ?route=: every route's gates, in table order.
type GatesList struct {
	Routes []GatesStatus `json:"routes"`
}

// gatesStatus is the named route's gates.
func (a *Admin) gatesStatus(name string) GatesStatus {
	ctl := a.Gates[name]
	rs := a.Rollout.Load().Route(name)
	st := GatesStatus{Route: name, Enabled: ctl != nil && rs.Gates, HoldingTrip: rs.GateTripped}
	for _, step := range a.Rollout.Load().Config.RampLadder {
		st.Ladder = append(st.Ladder, LadderStep{Percent: step.Percent, Hold: HumanDuration(step.Hold)})
	}
	if ctl != nil {
		st.Gates, st.State = ctl.Status()
	}
	return st
}

// gatesOf is the gates of the named route, or of every route when name is "".
func (a *Admin) gatesOf(name string) []GatesStatus {
	if name != "" {
		return []GatesStatus{a.gatesStatus(name)}
	}
	var out []GatesStatus
	for _, n := range config.RouteNames {
		out = append(out, a.gatesStatus(n))
	}
	return out
}

// gates answers GET /admin/gates: ?route=NAME gives that route's gates, without it the list.
func (a *Admin) gates(w http.ResponseWriter, r *http.Request) {
	name, ok := routeFilter(w, r)
	if !ok {
		return
	}
	if name != "" {
		writeJSON(w, http.StatusOK, a.gatesStatus(name))
		return
	}
	writeJSON(w, http.StatusOK, GatesList{Routes: a.gatesOf("")})
}

// resetGates is the operator's acknowledgement after a trip: body {"route": NAME, "step": n},
// both optional, resets that route's gates (without route: every route's) and optionally
// moves the ladder.
func (a *Admin) resetGates(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Route   *string
		Step    *int
		Comment *string
	}
	if err := decodeAdminBody(w, r, map[string]any{"route": &body.Route, "step": &body.Step, "comment": &body.Comment}, `empty or {"route": NAME, "step": n, "comment": "..."}`); err != nil && !errors.Is(err, errEmptyBody) {
		return
	}
	names := slices.Sorted(maps.Keys(a.Gates))
	if body.Route != nil {
		if !slices.Contains(config.RouteNames, *body.Route) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("unknown route %q (known: %s)", *body.Route, strings.Join(config.RouteNames, ", "))})
			return
		}
		names = []string{*body.Route}
	}
	if len(names) == 0 || a.Gates[names[0]] == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "the gates are off (gates: true and DATABASE_URL)"})
		return
	}
	if body.Step != nil && (*body.Step < 0 || *body.Step >= max(1, len(a.Rollout.Load().Config.RampLadder))) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "step is outside the ramp ladder"})
		return
	}
	note := ""
	if body.Comment != nil {
		note = *body.Comment
	}
	for _, name := range names {
		_, before := a.Gates[name].Status()
		state, err := a.Gates[name].Reset(r.Context(), body.Step)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		from, _ := json.Marshal(map[string]any{"tripped": before.Tripped, "trip_reason": before.TripReason, "step": before.Step, "generation": before.Generation})
		to, _ := json.Marshal(map[string]any{"tripped": state.Tripped, "step": state.Step, "generation": state.Generation})
		if err := a.control().Record(r.Context(), Change{At: time.Now(), Who: who(r), Comment: note, Scope: name, Key: "gate_reset", From: from, To: to}); err != nil && a.Log != nil {
			a.Log.Warn("could not record the gate reset in the history", zap.Error(err))
		}
		if a.Log != nil {
			a.Log.Warn("gates reset by an operator", zap.String("route", name), zap.String("who", who(r)), zap.Int64("generation", state.Generation), zap.Int("step", state.Step))
		}
	}
	if body.Route != nil {
		writeJSON(w, http.StatusOK, a.gatesStatus(*body.Route))
		return
	}
	writeJSON(w, http.StatusOK, GatesList{Routes: a.gatesOf("")})
}

// routeFilter reads ?route=: "" (every route) or a known route's name; an unknown one is
// answered with 400 and ok false.
func routeFilter(w http.ResponseWriter, r *http.Request) (name string, ok bool) {
	name = r.URL.Query().Get("route")
	if name != "" && !slices.Contains(config.RouteNames, name) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("unknown route %q (known: %s)", name, strings.Join(config.RouteNames, ", "))})
		return "", false
	}
	return name, true
}

func (a *Admin) exemplars(ctx context.Context, routeName string) []diff.Exemplar {
	if a.Recorder == nil || a.Recorder.Store == nil {
		return nil
	}
	ex, err := a.Recorder.Store.Recent(ctx, 20, routeName)
	if err != nil && a.Log != nil {
		a.Log.Warn("could not list diff exemplars", zap.Error(err))
	}
	return ex
}

func (a *Admin) diffs(w http.ResponseWriter, r *http.Request) {
	if a.Recorder == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "shadow mode needs DATABASE_URL"})
		return
	}
	name, ok := routeFilter(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"route": name, "summary": a.Recorder.StatsFor(name).Summary(), "exemplars": a.exemplars(r.Context(), name)})
}

func (a *Admin) diffByID(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "diff id must be an integer"})
		return
	}
	if a.Recorder == nil || a.Recorder.Store == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no diff store"})
		return
	}
	run, err := a.Recorder.Store.Get(r.Context(), id)
	switch {
	case errors.Is(err, diff.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, run)
	}
}

func (a *Admin) report(w http.ResponseWriter, r *http.Request) {
	name, ok := routeFilter(w, r)
	if !ok {
		return
	}
	data := diff.ReportData{Generated: time.Now(), Route: name, Extra: gatesHTML(a.gatesOf(name))}
	if a.Recorder != nil {
		data.Summary = a.Recorder.StatsFor(name).Summary()
		data.Exemplars = a.exemplars(r.Context(), name)
	}
	var page bytes.Buffer
	if err := diff.WriteReport(&page, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = page.WriteTo(w)
}

func (a *Admin) healthz(w http.ResponseWriter, r *http.Request) {
	if a.Ping != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.Ping(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Drain makes /readyz fail from now on: the process is shutting down.
func (a *Admin) Drain() { a.draining.Store(true) }

// Readiness is GET /readyz's answer. Ready means the proxy can serve clients: a database
// that is down makes Go unavailable (Django answers), not the proxy.
type Readiness struct {
	Ready    bool   `json:"ready"`
	Draining bool   `json:"draining"`
	Go       string `json:"go"`     // available, unavailable (database unreachable), off (no DATABASE_URL)
	Config   string `json:"config"` // the configuration's source; fail-closed while none is valid
}

func (a *Admin) readyz(w http.ResponseWriter, r *http.Request) {
	s := a.Rollout.Load()
	st := Readiness{Draining: a.draining.Load(), Go: "off", Config: s.Config.Source}
	st.Ready = !st.Draining
	if a.Ping != nil {
		// Short: the probe's own timeout is a second, and the answer is informative only.
		ctx, cancel := context.WithTimeout(r.Context(), 300*time.Millisecond)
		defer cancel()
		st.Go = "available"
		if err := a.Ping(ctx); err != nil {
			st.Go = "unavailable"
		}
	}
	code := http.StatusOK
	if !st.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, st)
}

func (a *Admin) status(s *Snapshot) RolloutStatus {
	if a.Breakers == nil {
		a.Breakers = &Breakers{}
	}
	st := RolloutStatus{
		Mode: s.Mode(), GoPercent: s.GoPercent, ShadowPercent: s.ShadowPercent, KillSwitch: s.KillSwitch,
		ConfigVersion: s.Version, ConfigSource: s.Config.Source, ConfigError: s.ConfigError, ConfigPending: s.Config.Pending,
		Sources: s.GlobalSources(), AdminState: a.adminState(s), Overrides: s.Overrides, Salt: s.Config.Salt, Fallback: s.Config.Fallback,
	}
	var breakers []BreakerState
	for _, rs := range s.Routes() {
		r := RouteStatus{Name: rs.Name, Mode: rs.Mode(), Effective: rs.Effective, AdminOverrides: s.RouteOverrides[rs.Name],
			GateTripped: rs.GateTripped, RampStep: rs.RampStep, Breaker: a.Breakers.For(rs.Name).State(s.Config.BreakerCooldown)}
		r.ShareReason = shareReason(rs, r.Breaker)
		r.ShadowShare, r.ShadowReason = shadowShare(rs, r.Breaker)
		if r.GoShare = rs.GoPercent; rs.KillSwitch {
			r.GoShare = 0
		}
		if a.NoGo != "" {
			r.Mode, r.ShareReason, r.GoShare, r.ShadowShare, r.ShadowReason = "django", a.goOff(), 0, 0, a.goOff()
		}
		for _, rt := range a.Routes {
			if rt.Name == rs.Name {
				r.Method, r.Pattern, r.Writes, r.Key = rt.Method, rt.Pattern, rt.Writes, rt.Key
			}
		}
		st.Routes = append(st.Routes, r)
		breakers = append(breakers, r.Breaker)
	}
	st.Breaker = worstBreaker(breakers)
	if a.NoGo != "" {
		st.Mode = "django"
	}
	return st
}

// goOff says why Go serves nothing when NoGo is set.
func (a *Admin) goOff() string {
	if a.NoGo == "no_database" {
		return "Go is off: DATABASE_URL is not set, so Django answers every request"
	}
	return "Go is off (" + a.NoGo + "): Django answers every request"
}

// worstBreaker sums up the routes' breakers: open if any is open, else half-open if any is,
// the most consecutive failures, and the trips of all.
func worstBreaker(states []BreakerState) BreakerState {
	rank := map[string]int{"closed": 0, "half-open": 1, "open": 2}
	out := BreakerState{State: "closed"}
	for _, b := range states {
		if rank[b.State] > rank[out.State] {
			out.State = b.State
		}
		out.Failures = max(out.Failures, b.Failures)
		out.Trips += b.Trips
	}
	return out
}

func (a *Admin) writeStatus(w http.ResponseWriter, s *Snapshot) {
	writeJSON(w, http.StatusOK, a.status(s))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (a *Admin) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Token == "" && len(a.Tokens) == 0 {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "the admin API is read-only: set SHADOWPROXY_ADMIN_TOKEN or SHADOWPROXY_ADMIN_TOKENS to allow changes"})
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		name := a.tokenName(got)
		if !ok || name == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shadowproxy admin"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), tokenNameKey{}, name)))
	}
}

// readGuarded lets a read through when no token is set, or with a token as a bearer or as
// the password of basic authentication (any user name), so a browser can open the page.
// Basic authentication is not accepted for changes: a browser would send it cross-site.
func (a *Admin) readGuarded(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Token != "" || len(a.Tokens) > 0 {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				_, got, ok = r.BasicAuth()
			}
			if !ok || a.tokenName(got) == "" {
				w.Header().Add("WWW-Authenticate", `Bearer realm="shadowproxy admin"`)
				w.Header().Add("WWW-Authenticate", `Basic realm="shadowproxy admin", charset="UTF-8"`)
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong token: this page needs an admin token (bearer, or as the password of basic authentication)"})
				return
			}
		}
		next(w, r)
	}
}

type tokenNameKey struct{}

// tokenName is the name of the token got, or "" when it is none of them. Every token is
// compared in constant time.
func (a *Admin) tokenName(got string) string {
	name := ""
	if a.Token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) == 1 {
		name = "admin"
	}
	for n, tok := range a.Tokens {
		if tok != "" && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1 {
			name = n
		}
	}
	return name
}

// who is the name of the token the request was authorized with.
func who(r *http.Request) string {
	name, _ := r.Context().Value(tokenNameKey{}).(string)
	return name
}

// changed logs a newly published snapshot (its gauges follow Rollout.OnPublish).
func (a *Admin) changed(s *Snapshot, what string) {
	if a.Log != nil {
		a.Log.Info(what, zap.String("config_version", s.Version), zap.String("mode", s.Mode()),
			zap.Float64("go_percent", s.GoPercent), zap.Float64("shadow_percent", s.ShadowPercent), zap.Bool("kill_switch", s.KillSwitch))
	}
}
