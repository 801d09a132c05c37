package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"shadowproxy/internal/config"
	"shadowproxy/internal/proxy"
)

const rolloutUsage = `usage: shadowproxy rollout <status|set|kill|resume|reset-gates|history> [flags]

Talks to any replica's admin listener: $SHADOWPROXY_ADMIN_URL (default http://127.0.0.1:9090)
with the bearer token $SHADOWPROXY_ADMIN_TOKEN. Changes are stored for every replica.

  status                          mode, shares and why, per route
  set --route R [--go-percent P] [--shadow-percent P] [--comment C]
  kill [--route R] [--comment C]  every scoring request of R (default: every route) to Django
  resume [--route R] [--comment C]
  reset-gates [--route R] [--step N] [--comment C]   (default: every route's gates)
  history [--limit N]             who changed what, newest first

Every command takes --json (the admin API's answer as it is) and --help.
`

// rolloutCommand is `shadowproxy rollout`: the admin API for an operator's terminal.
func rolloutCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return usageError(stderr, "rollout", "expects a command: status, set, kill, resume, reset-gates or history")
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, rolloutUsage)
		return 0
	}
	name := args[0]
	fs := newCommand("rollout "+name, "rollout "+name+" [flags]", nil)
	asJSON := fs.Bool("json", false, "print the admin API's JSON answer")
	var route, comment *string
	var goPct, shadowPct *float64
	var step, limit *int
	changing := name == "set" || name == "kill" || name == "resume" || name == "reset-gates"
	if changing {
		comment = fs.String("comment", "", "why, recorded in the history with the token's name")
	}
	switch name {
	case "status":
	case "set":
		route = fs.String("route", "", "the route (default: the global values, for every route that sets none)")
		goPct = fs.Float64("go-percent", 0, "Go's share, 0-100")
		shadowPct = fs.Float64("shadow-percent", 0, "the shadow share, 0-100")
	case "kill", "resume":
		route = fs.String("route", "", "the route (default: every route)")
	case "reset-gates":
		route = fs.String("route", "", "the route whose gates to reset (default: every route's)")
		step = fs.Int("step", 0, "move the ramp ladder to this step (0-based)")
	case "history":
		limit = fs.Int("limit", 20, "how many changes")
	default:
		return usageError(stderr, "rollout", fmt.Sprintf("unknown command %q", name))
	}
	if code, ok := parseArgs(fs, args[1:], "", stdout, stderr); !ok {
		return code
	}
	given := map[string]bool{} // flags set on the command line, whatever their value
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	body := map[string]any{}
	if comment != nil && *comment != "" {
		body["comment"] = *comment
	}
	if route != nil && *route != "" {
		body["route"] = *route
	}
	method, path := "GET", "/admin/rollout"
	switch name {
	case "set":
		// A value out of range is sent as given: the admin API refuses it (400).
		if given["go-percent"] {
			body["go_percent"] = *goPct
		}
		if given["shadow-percent"] {
			body["shadow_percent"] = *shadowPct
		}
		if body["go_percent"] == nil && body["shadow_percent"] == nil {
			return usageError(stderr, "rollout set", "give --go-percent or --shadow-percent")
		}
		method = "PUT"
	case "kill", "resume":
		method, body["kill_switch"] = "PUT", name == "kill"
	case "reset-gates":
		method, path = "POST", "/admin/gates/reset"
		if given["step"] {
			body["step"] = *step
		}
	case "history":
		path = fmt.Sprintf("/admin/rollout/history?limit=%d", *limit)
	}
	raw, err := adminRequest(method, path, body, changing)
	if err != nil {
		fmt.Fprintf(stderr, "shadowproxy rollout %s: %v\n", name, err)
		return 1
	}
	if *asJSON {
		_, _ = stdout.Write(raw)
		return 0
	}
	if err := printHuman(stdout, name, raw); err != nil {
		fmt.Fprintf(stderr, "shadowproxy rollout %s: %v\n", name, err)
		return 1
	}
	return 0
}

// adminRequest sends one request to the admin listener and returns the answer's body; an
// answer other than 2xx is an error carrying the API's message.
func adminRequest(method, path string, body map[string]any, send bool) ([]byte, error) {
	base := strings.TrimRight(os.Getenv("SHADOWPROXY_ADMIN_URL"), "/")
	if base == "" {
		base = "http://127.0.0.1:9090"
	}
	var reader io.Reader
	if send {
		b, _ := json.Marshal(body)
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, reader)
	if err != nil {
		return nil, fmt.Errorf("SHADOWPROXY_ADMIN_URL: %w", err)
	}
	if tok := os.Getenv("SHADOWPROXY_ADMIN_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s %s: %d: %s", method, path, resp.StatusCode, e.Error)
		}
		return nil, fmt.Errorf("%s %s: %d", method, path, resp.StatusCode)
	}
	return raw, nil
}

type statusAnswer struct {
	Mode          string            `json:"mode"`
	KillSwitch    bool              `json:"kill_switch"`
	GoPercent     float64           `json:"go_percent"`
	ShadowPercent float64           `json:"shadow_percent"`
	ConfigVersion string            `json:"config_version"`
	Sources       map[string]string `json:"sources"`
	AdminState    string            `json:"admin_state"`
	ConfigSource  string            `json:"config_source"`
	ConfigError   string            `json:"config_error"`
	ConfigPending string            `json:"config_pending"`
	Routes        []struct {
		Name        string            `json:"name"`
		Mode        string            `json:"mode"`
		GoShare     float64           `json:"go_share"`     // effective: 0 under the kill switch or with Go off
		ShadowShare float64           `json:"shadow_share"` // effective: 0 under the kill switch
		KillSwitch  bool              `json:"kill_switch"`
		ShareReason string            `json:"share_reason"`
		Sources     map[string]string `json:"sources"`
	} `json:"routes"`
	Changes []proxy.Change `json:"changes"`
	Held    []string       `json:"held"`
	Warning string         `json:"warning"`
	Stored  *bool          `json:"stored"`
	gatesAnswer
}

// gatesAnswer is one route's gates in the answer of a reset.
type gatesAnswer struct {
	Route string `json:"route"`
	State *struct {
		Tripped bool `json:"tripped"`
		Step    int  `json:"step"`
	} `json:"state"`
}

// oneLine is a recorded value as one line of JSON (the admin API indents its answers).
func oneLine(v json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

func printHuman(w io.Writer, name string, raw []byte) error {
	var a statusAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	switch name {
	case "history":
		fmt.Fprintln(tw, "TIME\tWHO\tSCOPE\tKEY\tFROM → TO\tCOMMENT")
		for _, c := range a.Changes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s → %s\t%s\n", c.At.UTC().Format(time.RFC3339), c.Who, c.Scope, c.Key, oneLine(c.From), oneLine(c.To), c.Comment)
		}
		if len(a.Changes) == 0 {
			fmt.Fprintln(tw, "(no change recorded)")
		}
		return nil
	case "reset-gates":
		var reset []gatesAnswer
		if err := json.Unmarshal(raw, &struct {
			Routes *[]gatesAnswer `json:"routes"`
		}{&reset}); err != nil || reset == nil {
			reset = []gatesAnswer{a.gatesAnswer}
		}
		for _, g := range reset {
			if g.State != nil {
				fmt.Fprintf(tw, "gates of %s reset: tripped %v, ramp step %d\n", g.Route, g.State.Tripped, g.State.Step)
			}
		}
		return nil
	}
	for _, c := range a.Changes {
		fmt.Fprintf(tw, "changed %s %s: %s → %s\n", c.Scope, c.Key, oneLine(c.From), oneLine(c.To))
	}
	if a.Stored != nil && len(a.Changes) == 0 && a.Warning == "" {
		fmt.Fprintln(tw, "nothing changed: those admin values were already stored")
	}
	if a.Warning != "" {
		fmt.Fprintln(tw, "WARNING: "+a.Warning)
	}
	for _, h := range a.Held {
		fmt.Fprintln(tw, "HELD: "+h)
	}
	fmt.Fprintf(tw, "global: mode %s, go %v%% (%s), shadow %v%% (%s), kill switch %v (%s); config %s; admin state %s\n",
		a.Mode, a.GoPercent, a.Sources["go_percent"], a.ShadowPercent, a.Sources["shadow_percent"], a.KillSwitch, a.Sources["kill_switch"], a.ConfigVersion, a.AdminState)
	switch {
	case a.ConfigError != "" && a.ConfigSource == config.SourceFailClosed:
		fmt.Fprintln(tw, "CONFIG REFUSED (none was accepted since start: fail-closed, every request to Django): "+a.ConfigError)
	case a.ConfigError != "":
		fmt.Fprintln(tw, "CONFIG REFUSED (the last good configuration is in force): "+a.ConfigError)
	}
	if a.ConfigPending != "" {
		fmt.Fprintln(tw, "CONFIG SETTLING (only its changes toward Django apply until then): "+a.ConfigPending)
	}
	fmt.Fprintln(tw, "ROUTE\tMODE\tGO %\tSHADOW %\tKILL\tWHY")
	for _, r := range a.Routes {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%v\t%s\n", r.Name, r.Mode, r.GoShare, r.ShadowShare, r.KillSwitch, r.ShareReason)
	}
	return nil
}
