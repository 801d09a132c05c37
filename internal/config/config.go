// Package config loads shadowproxy's rollout configuration: a flat YAML file whose every key
// can be overridden by an environment variable SHADOWPROXY_<KEY>, validated as a whole.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Route pins a scorer to one backend.
type Route string

// Backends a scorer can be pinned to.
const (
	RouteGo     Route = "go"
	RouteDjango Route = "django"
)

// Config is one complete, validated configuration.
type Config struct {
	// DjangoURL is where Django listens (the sidecar's upstream).
	DjangoURL string `yaml:"django_url"`
	// GoPercent is the share of scoring traffic Go serves, 0–100 with at most two decimals.
	GoPercent float64 `yaml:"go_percent"`
	// ShadowPercent is the share of Django-served scoring requests that Go also runs in shadow.
	ShadowPercent float64 `yaml:"shadow_percent"`
	// KillSwitch sends every scoring request to Django and runs no Go scoring code.
	KillSwitch bool `yaml:"kill_switch"`
	// Salt keys the address bucketing; changing it reshuffles every address.
	Salt string `yaml:"salt"`
	// HeaderOverride honours X-Shadowproxy-Route: go|django on requests.
	HeaderOverride bool `yaml:"header_override"`
	// ScorerOverrides pins scorer ids (as written in the path) to a backend.
	ScorerOverrides map[string]Route `yaml:"scorer_overrides"`
	// Fallback sends a request to Django when Go fails before committing.
	Fallback bool `yaml:"fallback"`
	// GoTimeout bounds one Go scoring run.
	GoTimeout time.Duration `yaml:"go_timeout"`
	// BreakerFailures consecutive Go failures open the circuit breaker (0 disables it).
	BreakerFailures int `yaml:"breaker_failures"`
	// BreakerCooldown is how long an open breaker keeps Go out before one trial request.
	BreakerCooldown time.Duration `yaml:"breaker_cooldown"`
	// NoiseRules are the shadow comparison's allowed differences; nil keeps the defaults.
	NoiseRules []NoiseRule `yaml:"noise_rules"`

	// Gates turns on the automatic safety gates (they need DATABASE_URL).
	Gates bool `yaml:"gates"`
	// GateWindow is the length of the windows the gates judge evidence over.
	GateWindow time.Duration `yaml:"gate_window"`
	// GateAlpha is each gate's false-alarm probability per window.
	GateAlpha float64 `yaml:"gate_alpha"`
	// GateMinSamples is the sample count below which a gate holds.
	GateMinSamples int64 `yaml:"gate_min_samples"`
	// GateErrorMargin is how far Go's error rate may exceed Django's.
	GateErrorMargin float64 `yaml:"gate_error_margin"`
	// GateMaxDivergence is the share of shadow runs allowed to diverge or end in error.
	GateMaxDivergence float64 `yaml:"gate_max_divergence"`
	// GateLatencyMargin is the factor by which Go's median and p99 may exceed Django's.
	GateLatencyMargin float64 `yaml:"gate_latency_margin"`
	// RampLadder, when set, replaces go_percent: Go's share climbs one step each time every
	// gate has passed for the step's hold time.
	RampLadder []RampStep `yaml:"ramp_ladder"`

	// Routes holds per-route settings by route name (see RouteSettings); a route not named
	// here takes the global values.
	Routes map[string]RouteSettings `yaml:"routes"`

	// ConfigSettle is how long a changed file must stay byte-for-byte unchanged before its
	// changes toward Go apply (changes toward Django apply at once; see TowardDjango).
	ConfigSettle time.Duration `yaml:"config_settle"`

	// Version identifies this configuration's content (logged and shown by the admin API).
	Version string `yaml:"-"`
	// Pending is the version of newer file content whose changes toward Go wait to settle;
	// empty when the file's whole content is in force.
	Pending string `yaml:"-"`
	// Source says where it came from: a file path, "defaults", or "fail-closed".
	Source string `yaml:"-"`
	// routeSources records which route keys the environment set (the others under routes: are
	// the file's).
	routeSources map[string]map[string]string
	// globalSources records which top-level keys the file or the environment set.
	globalSources map[string]string
}

// GlobalSource says where a top-level key's value came from: SourceDefault, SourceFile or
// SourceEnv (the environment wins over the file).
func (c *Config) GlobalSource(key string) string {
	if s := c.globalSources[key]; s != "" {
		return s
	}
	return SourceDefault
}

func (c *Config) setGlobalSource(key, source string) {
	if c.globalSources == nil {
		c.globalSources = map[string]string{}
	}
	c.globalSources[key] = source
}

// NoiseRule lets a field pattern differ between Django and Go: timestamps up to Tolerance
// apart, or any difference when Tolerance is zero. Reason is required.
type NoiseRule struct {
	Pattern   string        `yaml:"pattern" json:"pattern"`
	Tolerance time.Duration `yaml:"tolerance" json:"tolerance"`
	Reason    string        `yaml:"reason" json:"reason"`
}

// RampStep is one rung of the ramp ladder.
type RampStep struct {
	Percent float64       `yaml:"percent" json:"percent"`
	Hold    time.Duration `yaml:"hold" json:"hold"`
}

// Defaults is the configuration when no file is given: Django only, fallback on.
func Defaults() Config {
	return Config{
		DjangoURL:       "http://127.0.0.1:8000",
		Salt:            "shadowproxy-v1",
		Fallback:        true,
		GoTimeout:       2 * time.Second,
		BreakerFailures: 5,
		BreakerCooldown: 10 * time.Second,
		ConfigSettle:    time.Second,

		GateWindow:        10 * time.Minute,
		GateAlpha:         1e-5,
		GateMinSamples:    200,
		GateErrorMargin:   0.01,
		GateMaxDivergence: 0.001,
		GateLatencyMargin: 0.10,
	}
}

// Buckets converts a percentage to the number of the 10,000 buckets it covers.
func Buckets(percent float64) int { return int(math.Round(percent * 100)) }

// ValidPercent reports whether p is a share between 0 and 100 with at most two decimals.
func ValidPercent(p float64) bool {
	return p >= 0 && p <= 100 && math.Abs(p*100-math.Round(p*100)) <= 1e-6
}

// Load reads the file (empty path: defaults only), applies the SHADOWPROXY_* overrides of
// environ (os.Environ's "KEY=value" pairs) and validates the result. Any error leaves the caller
// with nothing half-applied.
func Load(path string, environ []string) (Config, error) {
	if path == "" {
		return build(nil, "defaults", environ)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(content, path, environ)
}

// Parse builds the configuration from a file's content (source names the file): the defaults,
// the file's keys, then the SHADOWPROXY_* overrides of environ (os.Environ's "KEY=value" pairs),
// validated as a whole. A file without any key (empty, only white space or comments, a null or
// empty mapping) is refused, as is one with more than one YAML document or a key Config does not
// have, and so is a SHADOWPROXY_ROUTE_ variable that names no known route and key.
func Parse(content []byte, source string, environ []string) (Config, error) {
	if content == nil {
		content = []byte{}
	}
	return build(content, source, environ)
}

// FailClosed is the configuration in force when none could be loaded: the defaults with the
// environment's django_url and config_settle (when it reads; the next file settles by it), and
// the kill switch on, so Django answers every request. environ is os.Environ's "KEY=value" pairs.
func FailClosed(environ []string) Config {
	getenv := lookup(environ)
	c := Defaults()
	if u := getenv(EnvName("django_url")); u != "" {
		c.DjangoURL = u
	}
	var settle time.Duration
	if v := getenv(EnvName("config_settle")); v != "" && parseDuration(v, &settle) == nil && settle >= 0 {
		c.ConfigSettle = settle
	}
	c.FailClose()
	return c
}

// FailClose turns c into the configuration in force when none could be loaded: the kill
// switch on (source SourceFailClosed), every request to Django.
func (c *Config) FailClose() {
	c.KillSwitch = true
	c.Source, c.Version = SourceFailClosed, SourceFailClosed
	c.globalSources = maps.Clone(c.globalSources) // copies of c share the map
	c.setGlobalSource("kill_switch", SourceFailClosed)
}

// build is Load and Parse's common part; a nil content means there is no file.
func build(content []byte, source string, environ []string) (Config, error) {
	getenv := lookup(environ)
	c := Defaults()
	c.Source = source
	if content != nil {
		if err := decodeFile(content, &c); err != nil {
			return Config{}, parseError(source, content, err)
		}
	}
	env, err := applyEnv(&c, getenv)
	if err != nil {
		return Config{}, err
	}
	if err := checkRouteEnv(environ); err != nil {
		return Config{}, err
	}
	routeEnv, err := applyRouteEnv(&c, getenv)
	if err != nil {
		return Config{}, err
	}
	env += routeEnv
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	sum := sha256.New()
	sum.Write(content)
	sum.Write([]byte(env))
	c.Version = hex.EncodeToString(sum.Sum(nil))[:12]
	return c, nil
}

// RedactURL is raw as logs and errors may show it: a password in its user information is
// replaced by "xxxxx", and a text that is no URL is not shown at all, nor one whose user
// information url.Parse does not read as such ("user:pass@host" without "//", a password
// beginning with "/", "?" or "#"), on which Redacted would keep the password.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User == nil && strings.Contains(raw, "@") {
		return "(not a URL; not shown)"
	}
	return u.Redacted()
}

// Validate checks the configuration as a whole and returns every problem at once.
func (c *Config) Validate() error {
	var problems []string
	u, err := url.Parse(c.DjangoURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("django_url %q must be an http(s) URL", RedactURL(c.DjangoURL)))
	}
	for name, p := range map[string]float64{"go_percent": c.GoPercent, "shadow_percent": c.ShadowPercent} {
		if !ValidPercent(p) {
			problems = append(problems, fmt.Sprintf("%s %v must be between 0 and 100 with at most two decimals", name, p))
		}
	}
	if c.Salt == "" {
		problems = append(problems, "salt must not be empty")
	}
	for id, r := range c.ScorerOverrides {
		if r != RouteGo && r != RouteDjango {
			problems = append(problems, fmt.Sprintf("scorer_overrides[%s] %q must be go or django", id, r))
		}
	}
	if c.GoTimeout <= 0 {
		problems = append(problems, "go_timeout must be positive")
	}
	for i, r := range c.NoiseRules {
		if r.Pattern == "" || strings.TrimSpace(r.Reason) == "" || r.Tolerance < 0 {
			problems = append(problems, fmt.Sprintf("noise_rules[%d] needs a pattern, a reason and a tolerance of at least 0", i))
		} else if why := NoisePatternProblem(r.Pattern); why != "" {
			problems = append(problems, fmt.Sprintf("noise_rules[%d]: %s", i, why))
		}
	}
	// gate_error_margin 0 would make the error gate's null share Django's rate, 0 in a window
	// without Django errors, where the sequential test has nothing to weigh: the gate could not
	// trip. NaN passes every comparison, so it is refused by name.
	if c.GateWindow < time.Second || !(c.GateAlpha > 0 && c.GateAlpha < 1) || c.GateMinSamples < 1 ||
		!(c.GateErrorMargin > 0 && c.GateErrorMargin < 1) || !(c.GateMaxDivergence > 0 && c.GateMaxDivergence < 1) ||
		!(c.GateLatencyMargin >= 0 && !math.IsInf(c.GateLatencyMargin, 1)) {
		problems = append(problems, "gate settings: gate_window ≥ 1s, 0 < gate_alpha < 1, gate_min_samples ≥ 1, 0 < gate_error_margin < 1, 0 < gate_max_divergence < 1, gate_latency_margin ≥ 0 (finite)")
	}
	for i, st := range c.RampLadder {
		if !ValidPercent(st.Percent) || st.Hold < 0 || (i > 0 && st.Percent < c.RampLadder[i-1].Percent) {
			problems = append(problems, fmt.Sprintf("ramp_ladder[%d]: percent must be valid and not below the previous step, hold ≥ 0", i))
		}
	}
	if c.ConfigSettle < 0 {
		problems = append(problems, "config_settle must not be negative")
	}
	if c.BreakerFailures < 0 || c.BreakerCooldown < 0 {
		problems = append(problems, "breaker_failures and breaker_cooldown must not be negative")
	}
	problems = append(problems, c.validateRoutes()...)
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

// envKeys maps each YAML key to its setter from an environment value.
var envKeys = map[string]func(c *Config, v string) error{
	"django_url":      func(c *Config, v string) error { c.DjangoURL = v; return nil },
	"go_percent":      func(c *Config, v string) error { return parseFloat(v, &c.GoPercent) },
	"shadow_percent":  func(c *Config, v string) error { return parseFloat(v, &c.ShadowPercent) },
	"kill_switch":     func(c *Config, v string) error { c.KillSwitch = DjangoBool(v); return nil },
	"salt":            func(c *Config, v string) error { c.Salt = v; return nil },
	"header_override": func(c *Config, v string) error { c.HeaderOverride = DjangoBool(v); return nil },
	"scorer_overrides": func(c *Config, v string) error {
		c.ScorerOverrides = nil
		return json.Unmarshal([]byte(v), &c.ScorerOverrides)
	},
	"fallback":            func(c *Config, v string) error { c.Fallback = DjangoBool(v); return nil },
	"go_timeout":          func(c *Config, v string) error { return parseDuration(v, &c.GoTimeout) },
	"breaker_failures":    func(c *Config, v string) error { return parseInt(v, &c.BreakerFailures) },
	"breaker_cooldown":    func(c *Config, v string) error { return parseDuration(v, &c.BreakerCooldown) },
	"gates":               func(c *Config, v string) error { c.Gates = DjangoBool(v); return nil },
	"config_settle":       func(c *Config, v string) error { return parseDuration(v, &c.ConfigSettle) },
	"gate_window":         func(c *Config, v string) error { return parseDuration(v, &c.GateWindow) },
	"gate_alpha":          func(c *Config, v string) error { return parseFloat(v, &c.GateAlpha) },
	"gate_min_samples":    func(c *Config, v string) error { return parseInt64(v, &c.GateMinSamples) },
	"gate_error_margin":   func(c *Config, v string) error { return parseFloat(v, &c.GateErrorMargin) },
	"gate_max_divergence": func(c *Config, v string) error { return parseFloat(v, &c.GateMaxDivergence) },
	"gate_latency_margin": func(c *Config, v string) error { return parseFloat(v, &c.GateLatencyMargin) },
	"ramp_ladder": func(c *Config, v string) error {
		c.RampLadder = nil
		return yaml.Unmarshal([]byte(v), &c.RampLadder)
	},
	"noise_rules": func(c *Config, v string) error {
		c.NoiseRules = nil
		return yaml.Unmarshal([]byte(v), &c.NoiseRules)
	},
}

// offKillSwitch reports an environment value that would turn a kill switch off: it is
// ignored, since the kill switch wins if any source turns it on (a file's stays on).
func offKillSwitch(key, value string) bool { return key == "kill_switch" && !DjangoBool(value) }

// lookup returns the value of each variable of environ, os.Environ's "KEY=value" pairs (of a name
// given twice, the last value, as exec.Cmd takes it); a variable not set reads "".
func lookup(environ []string) func(string) string {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	return func(k string) string { return vars[k] }
}

// EnvName is the environment variable that overrides a YAML key.
func EnvName(key string) string { return "SHADOWPROXY_" + strings.ToUpper(key) }

func applyEnv(c *Config, getenv func(string) string) (string, error) {
	keys := make([]string, 0, len(envKeys))
	for k := range envKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var applied strings.Builder
	for _, k := range keys {
		v := getenv(EnvName(k))
		if v == "" || offKillSwitch(k, v) {
			continue
		}
		if err := envKeys[k](c, v); err != nil {
			return "", fmt.Errorf("%s=%q: %w", EnvName(k), v, err)
		}
		c.setGlobalSource(k, SourceEnv)
		fmt.Fprintf(&applied, "%s=%s\n", k, v)
	}
	return applied.String(), nil
}

func parseFloat(v string, dst *float64) error {
	f, err := strconv.ParseFloat(v, 64)
	*dst = f
	return err
}

func parseInt(v string, dst *int) error {
	n, err := strconv.Atoi(v)
	*dst = n
	return err
}

func parseInt64(v string, dst *int64) error {
	n, err := strconv.ParseInt(v, 10, 64)
	*dst = n
	return err
}

func parseDuration(v string, dst *time.Duration) error {
	d, err := time.ParseDuration(v)
	*dst = d
	return err
}
