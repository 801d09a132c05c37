package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"shadowproxy/internal/config"
	"shadowproxy/internal/replay"
	v2 "shadowproxy/internal/routes/v2"
)

// Each capture record names its route and the dialect the request was answered in, and
// `shadowproxy replay` compares in that dialect: a capture of the v2 route in the lambda
// dialect (a score, a scorer id that is not an integer, an invalid address) replays without a
// divergence; in the ninja dialect the records say ninja. No record holds the API key.
func TestCaptureRecordsTheRoutesDialectForReplay(t *testing.T) {
	for _, dialect := range []config.Dialect{config.DialectLambda, config.DialectNinja} {
		t.Run(string(dialect), func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Routes = map[string]config.RouteSettings{v2.ScoreName: {Dialect: string(dialect)}}
			f := newGoFixture(t, cfg)
			if dialect == config.DialectLambda {
				f.upstream.Config.Handler = lambdaDjango(f)
			} else {
				f.upstream.Config.Handler = ninjaDjango(f)
			}
			path := filepath.Join(t.TempDir(), "capture.jsonl")
			capture, err := OpenCapture(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.handler.Capture = capture
			community, address := f.ds.Communities[0].ID, f.ds.Addresses[1].Address
			for _, p := range []string{fmt.Sprintf("/v2/stamps/%d/score/%s", community, address), "/v2/stamps/abc/score/" + address,
				fmt.Sprintf("/v2/stamps/%d/score/0x123", community)} {
				if resp, _ := f.do("GET", p, nil, "X-API-Key", f.ds.APIKey); resp.Header.Get(BackendHeader) != "django" {
					t.Fatalf("%s: answered by %q", p, resp.Header.Get(BackendHeader))
				}
			}
			if err := capture.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			for _, l := range lines {
				var rec CaptureRecord
				if err := json.Unmarshal([]byte(l), &rec); err != nil {
					t.Fatal(err)
				}
				if rec.Route != v2.ScoreName || rec.Dialect != dialect || strings.Contains(l, f.ds.APIKey) {
					t.Fatalf("record %s", l)
				}
			}
			s, err := replay.Run(context.Background(), strings.NewReader(string(b)), f.pool, f.scorer, nil)
			if err != nil {
				t.Fatal(err)
			}
			if s.Total != 3 || len(lines) != 3 || s.Diverged() {
				t.Fatalf("replay of the %s capture: %+v", dialect, s)
			}
		})
	}
}
