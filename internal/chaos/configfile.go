package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// configFile serves 40 req/s of scoring and 20 req/s of other routes from a configuration file with the kill switch on (go_percent 100
// comes from the environment) and rewrites the file in place, as a careless writer does, three
// times over: emptied, cut inside django_url, and without its last line (kill_switch) yet; each
// partial state lasts 400 ms before the whole file is back. Promises: the kill switch stays
// on (no request answered by Go), no django_url the file never named is used, an empty file
// is refused.
func configFile(ctx context.Context, r *rig) ([]Result, error) {
	path := filepath.Join(r.o.WorkDir, "chaos-rollout.yaml")
	full := fmt.Sprintf("# rollout configuration written by make chaos\ndjango_url: %s\nshadow_percent: 0\nfallback: true\nkill_switch: true\n", r.django.URL())
	if err := os.WriteFile(path, []byte(full), 0o644); err != nil {
		return nil, err
	}
	p, err := r.startProxy("config", path)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	if state, err := p.rollout(); err != nil || !state.KillSwitch {
		return nil, fmt.Errorf("the kill switch is not on at start (%+v, %v)", state, err)
	}
	res := Result{Scenario: "config file rewritten in place 3 x 3"}
	community, err := r.newCommunity(ctx, "config")
	if err != nil {
		return nil, err
	}
	u := r.django.URL()
	cut := strings.Index(full, u) + strings.LastIndex(u, ":") + 2 // "django_url: http://127.0.0.1:4" of port 4xxxx
	partials := []struct{ name, content string }{
		{"empty", ""},
		{"cut inside django_url", full[:cut]},
		{"kill_switch line not written yet", strings.TrimSuffix(full, "kill_switch: true\n")},
	}
	ok0, rejected0 := reloads(p)
	rec, other := &recorder{}, &recorder{}
	var stop atomic.Bool
	wait := background(func() {
		r.drive(p, steady{name: "config", community: community, rate: 40, max: time.Minute, rec: rec, until: stop.Load})
	})
	waitOther := background(func() {
		r.drive(p, steady{name: "config, other routes", rate: 20, max: time.Minute, rec: other, until: stop.Load,
			path: func(int64) string { return "/v2/stamps/metadata" }})
	})
	time.Sleep(500 * time.Millisecond)
	var writeErr error
	for cycle := 0; cycle < 3 && writeErr == nil; cycle++ {
		for _, partial := range partials {
			if writeErr = os.WriteFile(path, []byte(partial.content), 0o644); writeErr != nil {
				break
			}
			time.Sleep(400 * time.Millisecond)
			if writeErr = os.WriteFile(path, []byte(full), 0o644); writeErr != nil {
				break
			}
			time.Sleep(700 * time.Millisecond)
		}
	}
	stop.Store(true)
	wait()
	waitOther()
	if writeErr != nil {
		return nil, writeErr
	}
	for _, s := range other.all() {
		rec.add(s)
	}
	samples, err := r.account(ctx, p, &res, community, rec, true)
	if err != nil {
		return nil, err
	}
	ok1, rejected1 := reloads(p)
	badGateway := 0
	for _, s := range samples {
		if s.Status == 502 {
			badGateway++
		}
	}
	res.note("reloads applied %d, refused %d; %d requests answered by Go, %d answered 502 (no Django at the django_url in force)",
		ok1-ok0, rejected1-rejected0, res.GoServed, badGateway)
	if res.GoServed > 0 {
		res.fail("%d requests answered by Go while every complete file had the kill switch on", res.GoServed)
	}
	if badGateway > 0 {
		res.fail("a django_url the file never named was applied (%d answers 502)", badGateway)
	}
	res.checkCommon()
	return []Result{res}, nil
}

// reloads reads the configuration reload counters.
func reloads(p *proxy) (ok, rejected int) {
	return int(p.metric(`shadowproxy_config_reloads_total{result="ok"}`)), int(p.metric(`shadowproxy_config_reloads_total{result="rejected"}`))
}
