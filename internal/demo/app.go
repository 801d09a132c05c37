package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ceramiccache"
	"shadowproxy/internal/scoring"
	"shadowproxy/internal/scoring/credential"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

// appSecret is the demo's SECRET_KEY: the legacy HS256 access tokens of the Passport app are
// signed with it (not a secret: a demo value).
const appSecret = "shadowproxy-demo-secret-key-not-a-secret"

// appEnv are the Django settings the Passport app's routes read, for the demo's binary.
func appEnv(community int64) []string {
	return []string{"SECRET_KEY=" + appSecret, "CERAMIC_CACHE_SCORER_ID=" + strconv.FormatInt(community, 10)}
}

// appStandin answers the Passport app's routes as the stand-in Django: the ceramic-cache
// family's Go code on a commit sink, after the same latency as the v2 stand-in, with the
// headers of Django's middleware mw.
func appStandin(pool *pgxpool.Pool, settings scoring.Settings, mw route.Middleware, community int64, latency time.Duration) (http.Handler, error) {
	s, err := ceramiccache.SettingsFromEnv(func(k string) string {
		return map[string]string{"SECRET_KEY": appSecret, "CERAMIC_CACHE_SCORER_ID": strconv.FormatInt(community, 10)}[k]
	})
	if err != nil {
		return nil, err
	}
	table := ceramiccache.Routes(&ceramiccache.Family{Scorer: &scoring.Scorer{DB: store.Reader{Q: pool}, Settings: settings, Cache: credential.NewCache(1000)},
		DB: pool, Sink: store.CommitSink{Pool: pool}, Auth: s.Auth, ScorerID: s.ScorerID})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		body, _ := io.ReadAll(r.Body)
		for _, rt := range table {
			if rt.Method != r.Method {
				continue
			}
			call, ok := rt.Handler.Parse(r, body, route.Ninja)
			if !ok {
				continue
			}
			a, err := rt.Handler.Serve(r.Context(), call)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			for k, v := range a.Header {
				w.Header()[k] = v
			}
			route.AddMiddlewareHeaders(mw, route.Ninja, route.RequestCORS(r), w.Header()) // as Django's middleware does
			w.WriteHeader(a.Status)
			_, _ = w.Write(a.Body)
			return
		}
		http.NotFound(w, r)
	}), nil
}

// appToken is a legacy ninja_jwt access token for address, as the Passport app sends it.
func appToken(address string) string {
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"token_type": "access", "jti": "demo",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "did": "did:pkh:eip155:1:" + address}).SignedString([]byte(appSecret))
	return "Bearer " + tok
}

// appCall is one request of the Passport app.
func appCall(method, url, address, body string) reply {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return reply{body: err.Error()}
	}
	req.Header.Set("Authorization", appToken(address))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, backend: resp.Header.Get("X-Shadowproxy-Backend"), body: string(b)}
}

// bulkBody is a bulk POST body: a stamp signed by the demo issuer per provider.
func bulkBody(issuer *stampissuer.Issuer, address string, providers ...string) string {
	items := make([]string, len(providers))
	for i, p := range providers {
		stamp := issuer.Issue(stampissuer.Stamp{Address: address, Provider: p, Nullifiers: []string{"v0.0.0:" + p + ":" + address}})
		items[i] = fmt.Sprintf(`{"provider": %q, "stamp": %s}`, p, stamp)
	}
	return "[" + strings.Join(items, ", ") + "]"
}

// appResult is what the app scene measured.
type appResult struct {
	compared, divergent int64
	goPost, goScore     reply
}

// appScene runs the Passport app's traffic through the proxy in shadow (Django answers and
// writes; Go captures), users app users each posting stamps in bulk then reading their score,
// half of them replacing a stamp afterwards, and prints the comparison of each route; then one
// user at go_percent 100, served by Go.
func appScene(say func(string, ...any), base, adminBase string, users int) appResult {
	issuer := stampissuer.NewIssuer("shadowproxy-demo-iam")
	say("\n== the Passport app's routes in shadow: bulk POST of signed stamps, then GET score, with the app's JWT")
	say("   curl -X POST -H 'Authorization: Bearer <JWT>' -d '[{\"provider\": \"Google\", \"stamp\": {...}}, ...]' %s/ceramic-cache/stamps/bulk", base)
	put(adminBase+"/admin/rollout", `{"go_percent": 0, "shadow_percent": 100}`)
	sent := map[string]int{}
	send := func(name, method, path, address, body string) {
		appCall(method, base+path, address, body)
		sent[name]++
		waitRouteShadows(adminBase, name, sent[name]) // one shadow per user at a time
	}
	for i := range users {
		a := fmt.Sprintf("0x%040x", 0xa9900+i)
		providers := []string{"Google", "Ens", "Github"}[:2+i%2]
		send(ceramiccache.BulkPostName, http.MethodPost, "/ceramic-cache/stamps/bulk", a, bulkBody(issuer, a, providers...))
		send(ceramiccache.ScoreGetName, http.MethodGet, "/ceramic-cache/score/"+a, a, "")
		if i%2 == 0 { // the app refreshes a stamp: a soft delete and a new row
			send(ceramiccache.BulkPostName, http.MethodPost, "/ceramic-cache/stamps/bulk", a, bulkBody(issuer, a, "Google"))
		}
	}
	var res appResult
	for _, name := range []string{ceramiccache.BulkPostName, ceramiccache.ScoreGetName} {
		s := waitRouteShadows(adminBase, name, sent[name])
		res.compared += s.Compared
		res.divergent += s.Outcomes["divergent"]
		say("   %-20s %d shadowed: %d equal, %d noise only (new rows' ids, timestamps), %d order only, %d divergent, %d races, %d dropped",
			name, sent[name], s.Outcomes["equal"], s.Outcomes["noise"], s.Outcomes["order"], s.Outcomes["divergent"], s.Outcomes["race"], s.Outcomes["dropped"])
		for _, p := range s.Paths {
			if p.Divergent > 0 {
				say("   divergent field %-40s %d", p.Pattern, p.Divergent)
			}
		}
	}
	say("   diffs by route: curl -H 'Authorization: Bearer %s' '%s/admin/diffs?route=%s'", adminToken, adminBase, ceramiccache.BulkPostName)

	say("\n== one app user at go_percent 100: Go serves and writes")
	put(adminBase+"/admin/rollout", `{"go_percent": 100, "shadow_percent": 0}`)
	a := fmt.Sprintf("0x%040x", 0xa99ff)
	res.goPost = appCall(http.MethodPost, base+"/ceramic-cache/stamps/bulk", a, bulkBody(issuer, a, "Google", "Github"))
	res.goScore = appCall(http.MethodGet, base+"/ceramic-cache/score/"+a, a, "")
	say("POST /ceramic-cache/stamps/bulk  -> %d backend=%s %s", res.goPost.status, res.goPost.backend, abbreviate(res.goPost.body))
	say("GET /ceramic-cache/score/%s -> %d backend=%s %s", a, res.goScore.status, res.goScore.backend, abbreviate(res.goScore.body))
	return res
}

// abbreviate shortens an answer for the walkthrough: stamps (signed credentials) are elided.
func abbreviate(body string) string {
	var v map[string]any
	if json.Unmarshal([]byte(body), &v) != nil {
		return compact(body)
	}
	switch stamps := v["stamps"].(type) {
	case []any:
		v["stamps"] = fmt.Sprintf("[%d live stamps]", len(stamps))
	case map[string]any:
		v["stamps"] = fmt.Sprintf("{%d scored stamps}", len(stamps))
	}
	if score, ok := v["score"].(map[string]any); ok {
		delete(score, "stamps")
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// waitRouteShadows waits (at most 10 s) until the route has n finished shadow runs and no
// shadow holds its key any more (a run is recorded just before it releases its key).
func waitRouteShadows(adminBase, name string, n int) shadowSummary {
	var s struct {
		Summary shadowSummary `json:"summary"`
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_ = json.Unmarshal([]byte(get(adminBase+"/admin/diffs?route="+name, "", http.Header{"Authorization": {"Bearer " + adminToken}}).body), &s)
		total := int64(0)
		for _, v := range s.Summary.Outcomes {
			total += v
		}
		if total >= int64(n) && shadowsIdle(adminBase) {
			break
		}
	}
	return s.Summary
}

// shadowsIdle reports whether the shadow queue depth gauge is 0.
func shadowsIdle(adminBase string) bool {
	for _, line := range strings.Split(get(adminBase+"/metrics", "", http.Header{"Authorization": {"Bearer " + adminToken}}).body, "\n") {
		if v, ok := strings.CutPrefix(line, "shadowproxy_shadow_queue_depth "); ok {
			return strings.TrimSpace(v) == "0"
		}
	}
	return false
}
