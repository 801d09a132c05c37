package config

import (
	"strings"
	"testing"
)

// routes: is validated strictly: unknown route names (with the known ones), unknown keys,
// bad values; booleans read by the one rule; sources say file or env.
func TestRouteSettingsFromFileAndEnvironment(t *testing.T) {
	vars := map[string]string{"SHADOWPROXY_ROUTE_V2_SCORE_SHADOW_PERCENT": "7", "SHADOWPROXY_ROUTE_V2_SCORE_DIALECT": "lambda"}
	c, err := Parse([]byte("go_percent: 1\nroutes:\n  v2-score:\n    go_percent: 5\n    kill_switch: 'no'\n    gates: yes\n"), "f.yaml", env(vars))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Route("v2-score")
	if e.GoPercent != 5 || e.ShadowPercent != 7 || e.KillSwitch || !e.Gates || e.Dialect != "lambda" ||
		e.Sources["go_percent"] != SourceFile || e.Sources["shadow_percent"] != SourceEnv || e.Sources["header_override"] != SourceDefault {
		t.Fatalf("effective %+v", e)
	}
	for body, want := range map[string]string{
		"routes:\n  v2-scor:\n    go_percent: 5\n":    `unknown route "v2-scor" (known: v2-score, `,
		"routes:\n  v2-score:\n    go_prcent: 5\n":    "unknown key routes.v2-score.go_prcent",
		"routes:\n  v2-score:\n    go_percent: 101\n": "routes.v2-score.go_percent 101",
		"routes:\n  v2-score:\n    dialect: asgi\n":   `routes.v2-score.dialect "asgi"`,
	} {
		if _, err := Parse([]byte(body), "f.yaml", nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
	if _, err := Parse([]byte("go_percent: 1\n"), "f.yaml", env(map[string]string{"SHADOWPROXY_ROUTE_V2_SCORE_GO_PERCENT": "x"})); err == nil || !strings.Contains(err.Error(), "SHADOWPROXY_ROUTE_V2_SCORE_GO_PERCENT") {
		t.Errorf("bad route env value: %v", err)
	}
}

// A SHADOWPROXY_ROUTE_ variable that names no known route, or no key of its route, is refused
// with the known ones, as the file's routes: are, every one in one error and none with its
// value; it was ignored, a mistyped kill switch included.
func TestUnknownRouteVariablesAreRefused(t *testing.T) {
	for vars, want := range map[string][]string{
		"SHADOWPROXY_ROUTE_V2SCORE_KILL_SWITCH=1": {"SHADOWPROXY_ROUTE_V2SCORE_KILL_SWITCH: unknown route (known: V2_SCORE, CC_STAMPS_BULK_POST, "},
		"SHADOWPROXY_ROUTE_NOPE_GO_PERCENT=5":     {"SHADOWPROXY_ROUTE_NOPE_GO_PERCENT: unknown route (known: V2_SCORE, "},
		"SHADOWPROXY_ROUTE_V2_SCORE_GO_PRECENT=5": {"SHADOWPROXY_ROUTE_V2_SCORE_GO_PRECENT: unknown key for route v2-score (known: GO_PERCENT, SHADOW_PERCENT, KILL_SWITCH, "},
		"SHADOWPROXY_ROUTE_v2_score_GO_PERCENT=5": {"SHADOWPROXY_ROUTE_v2_score_GO_PERCENT: unknown route"},
		"SHADOWPROXY_ROUTE_NOPE_GO_PERCENT=5\nSHADOWPROXY_ROUTE_CC_WEIGHTS_SALT=s3cr3t-value\nSHADOWPROXY_ROUTE_V2_SCORE_GO_PERCENT=5": {
			"SHADOWPROXY_ROUTE_CC_WEIGHTS_SALT: unknown key for route cc-weights", "SHADOWPROXY_ROUTE_NOPE_GO_PERCENT: unknown route"},
	} {
		_, err := Parse([]byte("go_percent: 1\n"), "f.yaml", strings.Split(vars, "\n"))
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want %q", vars, err, w)
			}
		}
		if err != nil && (strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "V2_SCORE_GO_PERCENT:")) {
			t.Errorf("%s: %v quotes a value or refuses a known variable", vars, err)
		}
	}
	var known []string
	for _, name := range RouteNames {
		for _, k := range RouteKeys {
			known = append(known, RouteEnvName(name, k)+"=x")
		}
	}
	known = append(known, "SHADOWPROXY_ROUTE_NOPE_GO_PERCENT=", "SHADOWPROXY_ROUTES=1", "SHADOWPROXY_GO_PERCENT=1")
	if err := checkRouteEnv(known); err != nil {
		t.Fatalf("every route's every key, an empty variable and names without the prefix: %v", err)
	}
}

// A route's changes toward Django apply before the file settles, and only those: its lower
// share and kill switch, not its higher shadow share; the global kill switch of the file holds
// every route.
func TestRouteChangesTowardDjango(t *testing.T) {
	parse := func(s string) Config {
		c, err := Parse([]byte(s), "f.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cur := parse("go_percent: 50\nroutes:\n  v2-score:\n    go_percent: 40\n    shadow_percent: 1\n")
	next := parse("go_percent: 50\nroutes:\n  v2-score:\n    go_percent: 10\n    shadow_percent: 90\n    kill_switch: true\n")
	safe, changed := TowardDjango(cur, next)
	if e := safe.Route("v2-score"); !changed || e.GoPercent != 10 || e.ShadowPercent != 1 || !e.KillSwitch || safe.Pending != next.Version {
		t.Fatalf("changed %v, effective %+v", changed, e)
	}
	// A global share lowered in the file lowers a route that sets none, not one that sets its own.
	cur = parse("go_percent: 50\nroutes:\n  v2-score:\n    shadow_percent: 1\n")
	next = parse("go_percent: 20\nroutes:\n  v2-score:\n    go_percent: 30\n")
	safe, _ = TowardDjango(cur, next)
	if e := safe.Route("v2-score"); e.GoPercent != 30 {
		t.Fatalf("route share %v, want min(50, 30)", e.GoPercent)
	}
	if _, changed := TowardDjango(cur, cur); changed {
		t.Fatal("no change reported as a change")
	}
}

// One reader of the dialect setting for the file, the environment and cmd/lambda: case and
// surrounding white space are ignored, "" is the caller's default, anything else is refused.
func TestParseDialect(t *testing.T) {
	for in, want := range map[string]Dialect{"": DialectLambda, "ninja": DialectNinja, " Lambda ": DialectLambda, "LAMBDA": DialectLambda} {
		if got, err := ParseDialect(in, DialectLambda); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseDialect("asgi", DialectNinja); err == nil {
		t.Fatal("asgi accepted")
	}
	vars := map[string]string{"SHADOWPROXY_ROUTE_V2_SCORE_DIALECT": " Lambda"}
	c, err := Parse([]byte("routes:\n  v2-score:\n    dialect: NINJA\n"), "f.yaml", env(vars))
	if err != nil || c.Route("v2-score").Dialect != DialectLambda {
		t.Fatalf("env ' Lambda' over file NINJA: %v %+v", err, c.Route("v2-score"))
	}
	if c, err = Parse([]byte("routes:\n  v2-score:\n    dialect: Lambda\n"), "f.yaml", nil); err != nil || c.Route("v2-score").Dialect != DialectLambda {
		t.Fatalf("file 'Lambda': %v", err)
	}
	if _, err := Parse([]byte("go_percent: 1\n"), "f.yaml", env(map[string]string{"SHADOWPROXY_ROUTE_V2_SCORE_DIALECT": "asgi"})); err == nil ||
		!strings.Contains(err.Error(), "SHADOWPROXY_ROUTE_V2_SCORE_DIALECT") {
		t.Fatalf("bad env dialect: %v", err)
	}
}

// The lambda dialect is v2-score's alone: on any other route it is refused, from the file (the
// whole file is invalid, as any bad file is) and from SHADOWPROXY_ROUTE_<NAME>_DIALECT, with an
// error naming the setting, the route and the dialects it has; ninja is every route's.
func TestLambdaDialectOnlyOnRoutesThatHaveIt(t *testing.T) {
	var none []string
	for _, name := range RouteNames {
		file := "go_percent: 1\nroutes:\n  " + name + ":\n    dialect: lambda\n"
		envName := RouteEnvName(name, "dialect")
		vars := env(map[string]string{envName: "Lambda"})
		_, fileErr := Parse([]byte(file), "f.yaml", none)
		_, envErr := Parse([]byte("go_percent: 1\n"), "f.yaml", vars)
		if name == "v2-score" {
			if fileErr != nil || envErr != nil {
				t.Fatalf("v2-score has the lambda dialect: %v / %v", fileErr, envErr)
			}
			continue
		}
		wantFile := `routes.` + name + `.dialect "lambda": route ` + name + ` has no lambda dialect (its dialects: ninja)`
		if fileErr == nil || !strings.Contains(fileErr.Error(), wantFile) {
			t.Errorf("file: %v, want %q", fileErr, wantFile)
		}
		wantEnv := envName + ` "Lambda": route ` + name + ` has no lambda dialect (its dialects: ninja)`
		if envErr == nil || !strings.Contains(envErr.Error(), wantEnv) {
			t.Errorf("env: %v, want %q", envErr, wantEnv)
		}
		if _, err := Parse([]byte("routes:\n  "+name+":\n    dialect: ninja\n"), "f.yaml", none); err != nil {
			t.Errorf("%s: ninja refused: %v", name, err)
		}
	}
}

// require_token is off by default, read from the file and from
// SHADOWPROXY_ROUTE_<NAME>_REQUIRE_TOKEN by the one boolean rule.
func TestRequireTokenSetting(t *testing.T) {
	vars := map[string]string{"SHADOWPROXY_ROUTE_EMBED_SCORE_REQUIRE_TOKEN": "yes"}
	c, err := Parse([]byte("routes:\n  embed-weights:\n    require_token: true\n"), "f.yaml", env(vars))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"embed-weights": true, "embed-score": true, "embed-config": false} {
		if e := c.Route(name); e.RequireToken != want {
			t.Errorf("%s: require_token %v, want %v (sources %v)", name, e.RequireToken, want, e.Sources)
		}
	}
	if s := c.Route("embed-score").Sources["require_token"]; s != SourceEnv {
		t.Errorf("embed-score's require_token source %q", s)
	}
}
