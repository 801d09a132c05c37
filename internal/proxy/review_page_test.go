package proxy

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"shadowproxy/internal/diff"
	"shadowproxy/internal/standin"
	"shadowproxy/internal/store"
)

// reviewFixture runs two shadowed requests against a Django that answers a threshold of
// 21 where Go answers 20: two divergent exemplars of one signature (body.threshold). It
// returns the fixture and the admin URL.
func reviewFixture(t *testing.T) *shadowFixture {
	t.Helper()
	f := newShadowFixture(t, func(g *goFixture) http.Handler {
		real := &standin.Server{Scorer: g.scorer, Sink: store.CommitSink{Pool: g.pool}, Latency: 20 * time.Millisecond}
		return asNinjaDjango(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &bodyRecorder{header: http.Header{}}
			real.ServeHTTP(rec, r)
			w.WriteHeader(rec.code)
			_, _ = w.Write([]byte(strings.Replace(rec.body.String(), `"threshold": "20.00000"`, `"threshold": "21.00000"`, 1)))
		}))
	})
	for _, i := range []int{1, 3} {
		f.scoreAddr(f.ds.Communities[0].ID, f.ds.Addresses[i].Address)
	}
	if s := f.waitRuns(2); s.Outcomes[diff.OutcomeDivergent] != 2 {
		t.Fatalf("the seeded divergences were recorded as %+v", s.Outcomes)
	}
	return f
}

// The diff review groups the exemplars by what differs, with counts and first and last seen;
// an exemplar's page shows both answers and both write-sets with the divergent path marked,
// and proposes a noise rule for it after the rules in force. Both need the admin token.
func TestDiffReviewGroupsAndProposesARule(t *testing.T) {
	f := reviewFixture(t)
	base := f.adminSrv.URL
	for _, path := range []string{"/admin/review", "/admin/review/1"} {
		if code, _, _ := getPage(t, base+path, ""); code != http.StatusUnauthorized {
			t.Fatalf("%s without the token: %d", path, code)
		}
	}
	code, header, page := getPage(t, base+"/admin/review", "s3cret")
	if code != 200 || header.Get("Content-Security-Policy") != pageCSP {
		t.Fatalf("review: %d %v", code, header)
	}
	groups := regexp.MustCompile(`<tr class="group">`).FindAllStringIndex(page, -1)
	if len(groups) != 1 || !strings.Contains(page, `<td class="num count">2</td>`) || !strings.Contains(page, `<td class="signature">body.threshold (divergent)</td>`) {
		t.Fatalf("groups:\n%s", page)
	}
	id := regexp.MustCompile(`href="/admin/review/(\d+)"`).FindStringSubmatch(page)
	if id == nil {
		t.Fatal("no link to an exemplar")
	}
	code, _, page = getPage(t, base+"/admin/review/"+id[1], "s3cret")
	if code != 200 {
		t.Fatalf("exemplar: %d %s", code, page)
	}
	marked := regexp.MustCompile(`<div class="mark" data-path="body.threshold">\s*&#34;threshold&#34;: &#34;(\d+\.\d+)&#34;`).FindAllStringSubmatch(page, -1)
	if len(marked) != 2 || marked[0][1] != "21.00000" || marked[1][1] != "20.00000" {
		t.Fatalf("marked lines %v", marked)
	}
	if !strings.Contains(page, `id="writes"`) || !strings.Contains(page, `data-path="writes.score"`) {
		t.Error("the write-sets are not shown")
	}
	proposal := regexp.MustCompile(`(?s)<pre id="proposal">(.*?)</pre>`).FindStringSubmatch(page)
	if proposal == nil {
		t.Fatalf("no proposal:\n%s", page)
	}
	yaml := html.UnescapeString(proposal[1])
	for _, want := range []string{"noise_rules:\n  - pattern: body.last_score_timestamp\n", "  - pattern: body.threshold\n    tolerance: 0s\n    reason: \"TODO say why this difference is expected (seen 2 times,"} {
		if !strings.Contains(yaml, want) {
			t.Errorf("proposal lacks %q:\n%s", want, yaml)
		}
	}
}
