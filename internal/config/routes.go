package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// RouteNames are the names of the migrated routes, in the order of the route table
// (internal/routes, whose test keeps the two equal). A routes: key or a SHADOWPROXY_ROUTE_*
// variable names one of them; any other name is refused.
var RouteNames = []string{"v2-score",
	"cc-stamps-bulk-post", "cc-stamps-bulk-patch", "cc-stamps-bulk-delete", "cc-score-get", "cc-score-post", "cc-stamp", "cc-weights",
	"internal-score", "embed-stamps", "embed-score", "embed-validate-api-key", "embed-weights", "embed-config",
	"check-bans", "check-revocations", "allow-list", "customization-credential", "stake-gtc", "stake-legacy-gtc", "cgrants-contributor-statistics"}

// Dialect is the shape of a route's answers: Django-Ninja's behind ASGI, or Django's AWS Lambda
// handler's (route.Dialect is this type).
type Dialect string

// Dialects.
const (
	// DialectNinja is the Django-Ninja app behind ASGI: what a sidecar in front of it answers
	// (the default).
	DialectNinja Dialect = "ninja"
	// DialectLambda is Django's Lambda handler, which the ALB sends /v2/stamps/*/score/* to.
	DialectLambda Dialect = "lambda"
)

// ParseDialect reads a dialect setting the one way every reader does (routes: in the file,
// SHADOWPROXY_ROUTE_<NAME>_DIALECT, cmd/lambda): case and surrounding white space are ignored,
// and "" is def.
func ParseDialect(s string, def Dialect) (Dialect, error) {
	switch d := Dialect(strings.ToLower(strings.TrimSpace(s))); d {
	case "":
		return def, nil
	case DialectNinja, DialectLambda:
		return d, nil
	}
	return "", fmt.Errorf("dialect %q must be ninja or lambda", s)
}

// LambdaRoutes are the routes that also answer in the lambda dialect (those whose Django AWS
// Lambda handler Go reproduces); every route answers in ninja. internal/routes' test keeps it equal to the
// routes whose table entry declares the lambda dialect.
var LambdaRoutes = []string{"v2-score"}

// RouteDialects returns the dialects the named route answers in.
func RouteDialects(name string) []Dialect {
	if slices.Contains(LambdaRoutes, name) {
		return []Dialect{DialectNinja, DialectLambda}
	}
	return []Dialect{DialectNinja}
}

// ParseRouteDialect reads the named route's dialect setting s as ParseDialect does ("" is
// ninja), and refuses a dialect the route does not have: a route without a Lambda handler set to
// lambda would leave every request of it to Django without saying so.
func ParseRouteDialect(name, s string) (Dialect, error) {
	d, err := ParseDialect(s, DialectNinja)
	if err != nil {
		return "", err
	}
	has := RouteDialects(name)
	if !slices.Contains(has, d) {
		names := make([]string, len(has))
		for i, h := range has {
			names[i] = string(h)
		}
		return "", fmt.Errorf("route %s has no %s dialect (its dialects: %s)", name, d, strings.Join(names, ", "))
	}
	return d, nil
}

// RouteSettings are one route's settings under routes: NAME. A field left unset takes the
// global value (go_percent, shadow_percent, kill_switch, header_override, scorer_overrides,
// gates, noise_rules); the global kill switch beats a route's.
type RouteSettings struct {
	GoPercent       *float64         `yaml:"go_percent"`
	ShadowPercent   *float64         `yaml:"shadow_percent"`
	KillSwitch      *bool            `yaml:"kill_switch"`
	HeaderOverride  *bool            `yaml:"header_override"`
	ScorerOverrides map[string]Route `yaml:"scorer_overrides"`
	Gates           *bool            `yaml:"gates"`
	NoiseRules      []NoiseRule      `yaml:"noise_rules"`
	// Dialect is the answer dialect as written (ParseDialect reads it): ninja (Django-Ninja
	// behind ASGI, the default) or lambda (Django's AWS Lambda handler).
	Dialect string `yaml:"dialect"`
	// RequireToken, on a route Django leaves open (embed-score, embed-weights, embed-config),
	// makes the proxy refuse, before Go or Django, a request whose Authorization is not
	// CGRANTS_API_TOKEN (401 {"detail": "Unauthorized"}). Default off, as in Django; routes
	// without a token check of their own ignore it.
	RequireToken *bool `yaml:"require_token"`
}

// RouteKeys are the keys of RouteSettings, in the order the admin API lists them.
var RouteKeys = []string{"go_percent", "shadow_percent", "kill_switch", "header_override", "scorer_overrides", "gates", "noise_rules", "dialect", "require_token"}

// Sources of a route setting.
const (
	SourceDefault = "default" // the route sets none: the global value
	SourceFile    = "file"    // routes: NAME: KEY in the file
	SourceEnv     = "env"     // SHADOWPROXY_ROUTE_<NAME>_<KEY>
	SourceAdmin   = "admin"   // PUT /admin/rollout with "route"
	// SourceSettling marks a value taken from file content still settling: a global kill
	// switch or lower share, or a lower share for a route that set none (which caps the global
	// value, an admin override's too, instead of replacing it).
	SourceSettling = "settling"
	// SourceFailClosed is the kill switch of a configuration that could not be loaded.
	SourceFailClosed = "fail-closed"
)

// Effective is one route's settings in force, each from its route setting or the global one.
type Effective struct {
	GoPercent       float64          `json:"go_percent"`
	ShadowPercent   float64          `json:"shadow_percent"`
	KillSwitch      bool             `json:"kill_switch"`
	HeaderOverride  bool             `json:"header_override"`
	ScorerOverrides map[string]Route `json:"scorer_overrides"`
	Gates           bool             `json:"gates"`
	NoiseRules      []NoiseRule      `json:"noise_rules,omitempty"`
	Dialect         Dialect          `json:"dialect"`
	RequireToken    bool             `json:"require_token"`
	// Sources says where each key's value came from: default, file or env (the proxy adds admin).
	Sources map[string]string `json:"sources"`
}

// Route returns the settings in force for the named route.
func (c *Config) Route(name string) Effective {
	rs := c.Routes[name]
	e := Effective{GoPercent: c.GoPercent, ShadowPercent: c.ShadowPercent, KillSwitch: c.KillSwitch,
		HeaderOverride: c.HeaderOverride, ScorerOverrides: c.ScorerOverrides, Gates: c.Gates, NoiseRules: c.NoiseRules,
		Dialect: DialectNinja, Sources: map[string]string{}}
	for _, k := range RouteKeys {
		e.Sources[k] = SourceDefault
	}
	set := func(key string, ok bool, apply func()) {
		if ok {
			apply()
			e.Sources[key] = c.routeSources[name][key]
			if e.Sources[key] == "" {
				e.Sources[key] = SourceFile
			}
		}
	}
	set("go_percent", rs.GoPercent != nil, func() { e.GoPercent = *rs.GoPercent })
	set("shadow_percent", rs.ShadowPercent != nil, func() { e.ShadowPercent = *rs.ShadowPercent })
	// A route's kill_switch: false turns nothing off (the global one wins): only true is its own.
	set("kill_switch", rs.KillSwitch != nil && *rs.KillSwitch, func() { e.KillSwitch = true })
	set("header_override", rs.HeaderOverride != nil, func() { e.HeaderOverride = *rs.HeaderOverride })
	set("scorer_overrides", rs.ScorerOverrides != nil, func() { e.ScorerOverrides = rs.ScorerOverrides })
	set("gates", rs.Gates != nil, func() { e.Gates = *rs.Gates })
	set("noise_rules", rs.NoiseRules != nil, func() { e.NoiseRules = rs.NoiseRules })
	set("dialect", rs.Dialect != "", func() { e.Dialect, _ = ParseRouteDialect(name, rs.Dialect) }) // validated
	set("require_token", rs.RequireToken != nil, func() { e.RequireToken = *rs.RequireToken })
	return e
}

// routeEnvPrefix begins the name of every variable that overrides a route's key.
const routeEnvPrefix = "SHADOWPROXY_ROUTE_"

// RouteEnvName is the environment variable that overrides a route's key:
// SHADOWPROXY_ROUTE_<NAME>_<KEY>, the name upper-cased with '-' as '_'.
func RouteEnvName(route, key string) string {
	return routeEnvPrefix + envWord(route) + "_" + envWord(key)
}

// envWord is a route name or key as a variable's name spells it: upper case, '-' as '_'.
func envWord(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }

// envWords is envWord of each of names, joined by ", ".
func envWords(names []string) string {
	words := make([]string, len(names))
	for i, n := range names {
		words[i] = envWord(n)
	}
	return strings.Join(words, ", ")
}

// checkRouteEnv refuses, in one error naming each, the SHADOWPROXY_ROUTE_ variables of environ
// (os.Environ's "KEY=value" pairs) that are set to a value but name no known route and key, as
// the file's routes: refuses a name or key it does not know: a mistyped variable, a kill switch
// among them, would otherwise be ignored without a word. Values are not quoted (a variable may
// hold a secret).
func checkRouteEnv(environ []string) error {
	var problems []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, routeEnvPrefix)
		if !ok || value == "" {
			continue
		}
		if problem := routeEnvProblem(rest); problem != "" {
			problems = append(problems, name+": "+problem)
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

// routeEnvProblem says what is wrong with rest, a variable's name after SHADOWPROXY_ROUTE_, or
// "" when it is <NAME>_<KEY> of a known route and key.
func routeEnvProblem(rest string) string {
	route := "" // the longest known route rest begins with
	for _, name := range RouteNames {
		key, ok := strings.CutPrefix(rest, envWord(name)+"_")
		if !ok {
			continue
		}
		if slices.ContainsFunc(RouteKeys, func(k string) bool { return envWord(k) == key }) {
			return ""
		}
		if len(name) > len(route) {
			route = name
		}
	}
	if route == "" {
		return "unknown route (known: " + envWords(RouteNames) + ")"
	}
	return "unknown key for route " + route + " (known: " + envWords(RouteKeys) + ")"
}

// routeEnvKeys maps each route key to its setter from an environment value.
var routeEnvKeys = map[string]func(rs *RouteSettings, v string) error{
	"go_percent": func(rs *RouteSettings, v string) error {
		rs.GoPercent = new(float64)
		return parseFloat(v, rs.GoPercent)
	},
	"shadow_percent": func(rs *RouteSettings, v string) error {
		rs.ShadowPercent = new(float64)
		return parseFloat(v, rs.ShadowPercent)
	},
	"kill_switch":     func(rs *RouteSettings, v string) error { rs.KillSwitch = ptr(DjangoBool(v)); return nil },
	"header_override": func(rs *RouteSettings, v string) error { rs.HeaderOverride = ptr(DjangoBool(v)); return nil },
	"gates":           func(rs *RouteSettings, v string) error { rs.Gates = ptr(DjangoBool(v)); return nil },
	"dialect": func(rs *RouteSettings, v string) error {
		rs.Dialect = v
		_, err := ParseDialect(v, DialectNinja)
		return err
	},
	"require_token": func(rs *RouteSettings, v string) error { rs.RequireToken = ptr(DjangoBool(v)); return nil },
	"scorer_overrides": func(rs *RouteSettings, v string) error {
		rs.ScorerOverrides = nil
		return json.Unmarshal([]byte(v), &rs.ScorerOverrides)
	},
	"noise_rules": func(rs *RouteSettings, v string) error {
		rs.NoiseRules = nil
		return yaml.Unmarshal([]byte(v), &rs.NoiseRules)
	},
}

func ptr[T any](v T) *T { return &v }

// applyRouteEnv applies the SHADOWPROXY_ROUTE_* variables of every known route and key (the
// others are checkRouteEnv's) and returns them as text for the configuration's version.
func applyRouteEnv(c *Config, getenv func(string) string) (string, error) {
	var applied strings.Builder
	for _, name := range RouteNames {
		for _, k := range RouteKeys {
			v := getenv(RouteEnvName(name, k))
			if v == "" || offKillSwitch(k, v) {
				continue
			}
			if c.Routes == nil {
				c.Routes = map[string]RouteSettings{}
			}
			rs := c.Routes[name]
			if err := routeEnvKeys[k](&rs, v); err != nil {
				return "", fmt.Errorf("%s=%q: %w", RouteEnvName(name, k), v, err)
			}
			c.Routes[name] = rs
			c.setRouteSource(name, k, SourceEnv)
			fmt.Fprintf(&applied, "route %s %s=%s\n", name, k, v)
		}
	}
	return applied.String(), nil
}

// cloneRouteSources gives c its own copy of the route sources, which copies of c share.
func (c *Config) cloneRouteSources() {
	sources := make(map[string]map[string]string, len(c.routeSources))
	for name, keys := range c.routeSources {
		sources[name] = maps.Clone(keys)
	}
	c.routeSources = sources
}

func (c *Config) setRouteSource(name, key, source string) {
	if c.routeSources == nil {
		c.routeSources = map[string]map[string]string{}
	}
	if c.routeSources[name] == nil {
		c.routeSources[name] = map[string]string{}
	}
	c.routeSources[name][key] = source
}

// validateRoutes returns the problems of the routes: block.
func (c *Config) validateRoutes() []string {
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(c.Routes)) {
		rs := c.Routes[name]
		if !slices.Contains(RouteNames, name) {
			problems = append(problems, fmt.Sprintf("routes: unknown route %q (known: %s)", name, strings.Join(RouteNames, ", ")))
			continue
		}
		for key, p := range map[string]*float64{"go_percent": rs.GoPercent, "shadow_percent": rs.ShadowPercent} {
			if p != nil && !ValidPercent(*p) {
				problems = append(problems, fmt.Sprintf("routes.%s.%s %v must be between 0 and 100 with at most two decimals", name, key, *p))
			}
		}
		for id, r := range rs.ScorerOverrides {
			if r != RouteGo && r != RouteDjango {
				problems = append(problems, fmt.Sprintf("routes.%s.scorer_overrides[%s] %q must be go or django", name, id, r))
			}
		}
		for i, r := range rs.NoiseRules {
			if r.Pattern == "" || strings.TrimSpace(r.Reason) == "" || r.Tolerance < 0 {
				problems = append(problems, fmt.Sprintf("routes.%s.noise_rules[%d] needs a pattern, a reason and a tolerance of at least 0", name, i))
			} else if why := NoisePatternProblem(r.Pattern); why != "" {
				problems = append(problems, fmt.Sprintf("routes.%s.noise_rules[%d]: %s", name, i, why))
			}
		}
		if _, err := ParseRouteDialect(name, rs.Dialect); err != nil {
			setting := "routes." + name + ".dialect"
			if c.routeSources[name]["dialect"] == SourceEnv {
				setting = RouteEnvName(name, "dialect")
			}
			problems = append(problems, fmt.Sprintf("%s %q: %v", setting, rs.Dialect, err))
		}
	}
	return problems
}

// routesTowardDjango gives every route of safe (the configuration in force with next's global
// changes toward Django already taken) exactly the effective values of cur moved toward next's
// where next is safer: the lower share, the kill switch if either has it, the header override
// only if both have it, and next's new pins to django. A share a route did not set in cur is
// marked SourceSettling: it only caps the global value, so a global admin override still
// applies to the route until next's whole content does.
func routesTowardDjango(cur, next Config, safe *Config) bool {
	changed, cloned := false, false
	names := map[string]bool{}
	for n := range cur.Routes {
		names[n] = true
	}
	for n := range next.Routes {
		names[n] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		c, n, s := cur.Route(name), next.Route(name), safe.Route(name)
		rs, touched := safe.Routes[name], false
		var settling []string
		pin := func(key string, want float64, have float64, dst **float64) {
			if want != have {
				if *dst == nil {
					settling = append(settling, key)
				}
				*dst, touched = ptr(want), true
			}
		}
		pin("go_percent", min(c.GoPercent, n.GoPercent), s.GoPercent, &rs.GoPercent)
		pin("shadow_percent", min(c.ShadowPercent, n.ShadowPercent), s.ShadowPercent, &rs.ShadowPercent)
		if len(settling) > 0 {
			safe.cloneRouteSources()
			for _, key := range settling {
				safe.setRouteSource(name, key, SourceSettling)
			}
		}
		if kill := c.KillSwitch || n.KillSwitch; kill != s.KillSwitch {
			rs.KillSwitch, touched = ptr(kill), true
		}
		if header := c.HeaderOverride && n.HeaderOverride; header != s.HeaderOverride {
			rs.HeaderOverride, touched = ptr(header), true
		}
		pins := maps.Clone(s.ScorerOverrides)
		for id, r := range n.ScorerOverrides {
			if r == RouteDjango && pins[id] != RouteDjango {
				if pins == nil {
					pins = map[string]Route{}
				}
				pins[id], touched = RouteDjango, true
			}
		}
		if touched {
			rs.ScorerOverrides = pins
			if !cloned {
				safe.Routes, cloned = maps.Clone(safe.Routes), true
				if safe.Routes == nil {
					safe.Routes = map[string]RouteSettings{}
				}
			}
			safe.Routes[name] = rs
			changed = true
		}
	}
	return changed
}
