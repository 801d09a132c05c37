package chaos

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"shadowproxy/internal/bench"
)

// proxy is one shadowproxy process started by the harness.
type proxy struct {
	cmd        *exec.Cmd
	base       string // public listener, http://…
	admin      string // admin listener, http://…
	log        string
	exited     chan struct{}
	exitCode   int // after exited: the exit status, -1 when killed by a signal
	exitedAt   time.Time
	exitReason string
}

// adminToken is the admin token the harness gives shadowproxy.
const adminToken = "chaos-admin-token"

// startProxy runs the binary with the harness's environment plus env (NAME=value entries
// that replace the base ones), with `--config configPath` when configPath is set (then the
// base environment leaves django_url to the file), and waits until /healthz answers 200.
func (r *rig) startProxy(name string, configPath string, env ...string) (*proxy, error) {
	listen, admin := bench.FreeAddr(), bench.FreeAddr()
	vars := map[string]string{
		"DATABASE_URL": r.dbURL, "SHADOWPROXY_LISTEN": listen, "SHADOWPROXY_ADMIN_LISTEN": admin,
		"SHADOWPROXY_ADMIN_TOKEN": adminToken, "SHADOWPROXY_DJANGO_URL": r.django.URL(),
		"TRUSTED_IAM_ISSUERS": r.trusted, "FF_MULTI_NULLIFIER": "on",
	}
	for k, v := range r.settings {
		vars[k] = v
	}
	args := []string{"serve"}
	if configPath != "" {
		delete(vars, "SHADOWPROXY_DJANGO_URL")
		args = append(args, "--config", configPath)
	}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		vars[k] = v
	}
	cmd := exec.Command(r.o.Binary, args...)
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proxy{cmd: cmd, base: "http://" + listen, admin: "http://" + admin, log: filepath.Join(r.o.WorkDir, name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", r.o.Binary, err)
	}
	go func() {
		err := cmd.Wait()
		p.exitedAt = time.Now()
		logFile.Close()
		p.exitCode = cmd.ProcessState.ExitCode()
		var ee *exec.ExitError
		if errors.As(err, &ee) && !ee.Exited() {
			p.exitReason = ee.String()
		}
		close(p.exited)
	}()
	if !waitOK(p.admin+"/healthz", 20*time.Second) {
		p.kill()
		return nil, fmt.Errorf("shadowproxy did not become healthy within 20s (log: %s)", p.log)
	}
	return p, nil
}

// pid is the process id.
func (p *proxy) pid() int { return p.cmd.Process.Pid }

// stop interrupts the process and waits for it (killing it after 10 s, more than the drain
// delay and shutdown grace the harness sets).
func (p *proxy) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	if !p.wait(10 * time.Second) {
		p.kill()
	}
}

// kill ends the process at once and waits for it.
func (p *proxy) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// wait reports whether the process exited within d.
func (p *proxy) wait(d time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// signal sends sig to the process.
func (p *proxy) signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// metric is a metric of the admin listener, summed over its labels.
func (p *proxy) metric(name string) float64 { return bench.Metric(p.admin, name) }

// counters reads the fallback and breaker-trip counters.
func (p *proxy) counters() (fallbacks, trips int) {
	return int(p.metric("shadowproxy_fallbacks_total")), int(p.metric("shadowproxy_breaker_trips_total"))
}

// unresolvedCommits reads how many Go write transactions ended with an outcome nobody could
// find out (the database unreachable before the transaction id reached the proxy).
func (p *proxy) unresolvedCommits() int {
	return int(p.metric(`shadowproxy_commit_outcomes_total{outcome="unknown",route="v2-score"}`))
}

// rolloutState is the part of GET /admin/rollout the harness reads.
type rolloutState struct {
	KillSwitch bool    `json:"kill_switch"`
	GoPercent  float64 `json:"go_percent"`
	Breaker    struct {
		State string `json:"state"`
	} `json:"breaker"`
	ConfigVersion string `json:"config_version"`
	ConfigError   string `json:"config_error"`
}

func (p *proxy) rollout() (rolloutState, error) {
	var s rolloutState
	resp, err := http.Get(p.admin + "/admin/rollout")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// waitOK polls url until it answers 200, for at most d.
func waitOK(url string, d time.Duration) bool {
	c := &http.Client{Timeout: 500 * time.Millisecond}
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
	}
	return false
}
