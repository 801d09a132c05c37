package bench

import (
	"fmt"
	"os"
	"os/exec"
)

// OnlyPassThrough is the Options.Only value that runs the pass-through rounds alone: a route
// that is not scoring, direct to the stand-in Django, through the bare reverse proxy and
// through shadowproxy, at 16 clients and at 1.
const OnlyPassThrough = "passthrough"

// bareProxy is the bare reverse-proxy floor, running in a process of its own as shadowproxy does.
type bareProxy struct {
	URL string
	cmd *exec.Cmd
}

func (b bareProxy) stop() { _ = b.cmd.Process.Kill(); _ = b.cmd.Wait() }

// metadataPath is a pass-through route's URL at base (a route no table route takes).
func metadataPath(base string) URLFunc {
	return func(int64) string { return base + "/v2/stamps/metadata" }
}

// passThroughPhase runs three interleaved rounds of the pass-through loads, direct to Django,
// through the bare proxy (started here, returned running) and through shadowproxy at base
// (process pid), adds the best of each and the two ratios against the bare proxy. The proxies'
// loads measure their process's CPU per request.
func passThroughPhase(o Options, rep *Report, djangoURL, base string, pid int) (bareProxy, error) {
	fmt.Fprintln(os.Stderr, "== pass-through (a route that is not scoring)")
	self, _ := os.Executable()
	addr := FreeAddr()
	bare := bareProxy{URL: "http://" + addr, cmd: exec.Command(self, "-bare-proxy", addr, "-bare-target", djangoURL)}
	bare.cmd.Env = append(os.Environ(), "GOMAXPROCS="+o.GOMAXPROCS)
	if err := bare.cmd.Start(); err != nil {
		return bareProxy{}, fmt.Errorf("start the bare proxy: %w", err)
	}
	WaitReady(bare.URL + "/v2/stamps/metadata")
	names := []string{"direct", "bare proxy", "shadowproxy"}
	pids := []int{0, bare.cmd.Process.Pid, pid} // direct: Django runs in the harness's own process
	var pass [3][2]Result
	for range 3 {
		for i, b := range []string{djangoURL, bare.URL, base} {
			pass[i][0] = best(pass[i][0], Drive(Load{Name: fmt.Sprintf("pass-through %s, 16 clients", names[i]), Clients: 16, Duration: o.Duration / 2, PID: pids[i]}, metadataPath(b)), true)
			pass[i][1] = best(pass[i][1], Drive(Load{Name: fmt.Sprintf("pass-through %s, 1 client", names[i]), Clients: 1, Duration: o.Duration / 2, PID: pids[i]}, metadataPath(b)), false)
		}
	}
	for i := range pass {
		rep.Results = append(rep.Results, pass[i][0], pass[i][1])
	}
	rep.Figures["passthrough_throughput_vs_bare"] = pass[2][0].Throughput / pass[1][0].Throughput
	directP50 := pass[0][1].P50
	rep.Figures["passthrough_added_p50_vs_bare"] = (pass[2][1].P50 - directP50) / (pass[1][1].P50 - directP50)
	rep.Figures["passthrough_cpu_vs_bare_16_clients"] = pass[2][0].CPUPerReq / pass[1][0].CPUPerReq
	return bare, nil
}
