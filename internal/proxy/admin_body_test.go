package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/gate"
	"shadowproxy/internal/pgtest"
	v2 "shadowproxy/internal/routes/v2"
)

// PUT /admin/rollout takes exactly one JSON object of known keys, or changes nothing.
func TestAdminRolloutBodyIsOneObjectOfKnownKeys(t *testing.T) {
	h := newHarness(t, http.HandlerFunc(echo), config.Defaults(), nil, nil)
	before := h.rollout.Load()
	for body, want := range map[string]string{
		`{"go_percent":5}{"kill_switch":true}`:     "more after the object",
		`{"go_percent":5} trailing`:                "more after the object",
		`{"go_percent":5,"kill_swich":true}`:       `unknown key "kill_swich"`,
		`{"Go_Percent":5}`:                         `unknown key "Go_Percent"`,
		`{"kill_switch":"true"}`:                   "kill_switch has the wrong type",
		`{"go_percent":"5"}`:                       "go_percent has the wrong type",
		`{"kill_switch":true,"kill_switch":false}`: `key "kill_switch" given twice`,
		`{"kill_switch":null}`:                     "kill_switch must not be null",
		`[{"go_percent":5}]`:                       "not a JSON object",
		`null`:                                     "not a JSON object",
		`{"go_percent":5`:                          "invalid JSON",
		"":                                         "the body is empty",
		`{"go_percent":5,"pad":"` + strings.Repeat("x", maxAdminBody) + `"}`: "larger than 4096 bytes",
	} {
		code, st := h.adminCall("PUT", "/admin/rollout", "s3cret", body)
		msg, _ := st["error"].(string)
		if (code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge) || !strings.Contains(msg, want) {
			t.Errorf("%.60s: %d %q, want 400 naming %q", body, code, msg, want)
		}
	}
	if after := h.rollout.Load(); after != before {
		t.Fatalf("a refused body changed the rollout: %+v", after)
	}
	if code, st := h.adminCall("PUT", "/admin/rollout", "s3cret", " {\"kill_switch\": true, \"go_percent\": 5}\n"); code != 200 || st["kill_switch"] != true || st["go_percent"] != 5.0 {
		t.Fatalf("valid body: %d %v", code, st)
	}
}

// POST /admin/gates/reset takes no body or exactly {"step": n}.
func TestAdminGatesResetBodyIsStrict(t *testing.T) {
	h := newHarness(t, http.HandlerFunc(echo), gatedConfig(), nil, nil)
	h.admin.Gates = map[string]*gate.Controller{v2.ScoreName: startReplicas(t, pgtest.NewDB(t), gatedConfig(), v2.ScoreName, "a")[0].ctl}
	for body, want := range map[string]string{
		`{"step":0}{"step":1}`: "more after the object",
		`{"stp":0}`:            `unknown key "stp"`,
		`{"step":"0"}`:         "step has the wrong type",
		`{"step":0.5}`:         "step has the wrong type",
	} {
		code, st := h.adminCall("POST", "/admin/gates/reset", "s3cret", body)
		if msg, _ := st["error"].(string); code != http.StatusBadRequest || !strings.Contains(msg, want) {
			t.Errorf("%s: %d %q, want 400 naming %q", body, code, msg, want)
		}
	}
	for _, body := range []string{"", `{"step": 0}`} {
		if code, st := h.adminCall("POST", "/admin/gates/reset", "s3cret", body); code != 200 {
			t.Errorf("%q: %d %v", body, code, st)
		}
	}
}

// A fresh process exports every labelled counter whose label values are known, at 0, so that
// increase() sees the first event; and the configuration's validity.
func TestFreshMetricsExportKnownSeriesAtZero(t *testing.T) {
	h := newHarness(t, http.HandlerFunc(echo), config.Defaults(), nil, nil)
	scrape := func() string {
		resp, err := http.Get(h.adminSrv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	text := scrape()
	for _, series := range []string{
		`shadowproxy_config_reloads_total{result="ok"} 0`,
		`shadowproxy_config_reloads_total{result="rejected"} 0`,
		`shadowproxy_fallbacks_total{reason="error",route="v2-score"} 0`,
		`shadowproxy_fallbacks_total{reason="panic",route="v2-score"} 0`,
		`shadowproxy_fallbacks_total{reason="timeout",route="v2-score"} 0`,
		`shadowproxy_requests_total{backend="go",code="200",route="v2-score"} 0`,
		`shadowproxy_requests_total{backend="django",code="200",route="v2-score"} 0`,
		`shadowproxy_requests_total{backend="django",code="200",route="other"} 0`,
		`shadowproxy_request_duration_seconds_count{backend="go",route="v2-score"} 0`,
		`shadowproxy_breaker_trips_total{route="v2-score"} 0`,
		`shadowproxy_body_over_limit_total{route="v2-score"} 0`,
		`shadowproxy_client_gone_total{route="v2-score"} 0`,
		`shadowproxy_commit_outcomes_total{outcome="committed",route="v2-score"} 0`,
		`shadowproxy_commit_outcomes_total{outcome="aborted",route="v2-score"} 0`,
		`shadowproxy_commit_outcomes_total{outcome="unknown",route="v2-score"} 0`,
		`shadowproxy_config_valid 0`,
	} {
		if !strings.Contains(text, series+"\n") {
			t.Errorf("a fresh process does not export %s", series)
		}
	}
	h.metrics.ConfigLoaded(errors.New("refused"))
	if text := scrape(); !strings.Contains(text, `shadowproxy_config_reloads_total{result="rejected"} 1`+"\n") || !strings.Contains(text, "shadowproxy_config_valid 0\n") {
		t.Errorf("a refused configuration is not shown:\n%s", text)
	}
	h.metrics.ConfigLoaded(nil)
	if text := scrape(); !strings.Contains(text, `shadowproxy_config_reloads_total{result="ok"} 1`+"\n") || !strings.Contains(text, "shadowproxy_config_valid 1\n") {
		t.Errorf("a valid configuration is not shown")
	}
}

// FuzzAdminBody: no body makes the decoder panic, and a body it accepts is exactly one JSON
// object whose keys are all known, each once.
func FuzzAdminBody(f *testing.F) {
	for _, s := range []string{`{"go_percent":5}`, `{"go_percent":5}{"kill_switch":true}`, `{"kill_switch":true,"kill_switch":false}`,
		`{"shadow_percent":1e2}`, `  {"kill_switch": false}  `, `{"go_percent":5,"x":1}`, `[]`, `{"go_percent":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var o Overrides
		if err := decodeObject(body, overrideFields(&o)); err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err != nil || obj == nil {
			t.Fatalf("accepted %q, which is not one JSON object: %v", body, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatalf("accepted %q, which has more after the object", body)
		}
		for k := range obj {
			if _, known := overrideFields(&Overrides{})[k]; !known {
				t.Fatalf("accepted %q with the unknown key %q", body, k)
			}
		}
		if (o.GoPercent != nil) != (obj["go_percent"] != nil) || (o.ShadowPercent != nil) != (obj["shadow_percent"] != nil) || (o.KillSwitch != nil) != (obj["kill_switch"] != nil) {
			t.Fatalf("accepted %q as %+v", body, o)
		}
	})
}
