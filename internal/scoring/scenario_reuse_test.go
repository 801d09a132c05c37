package scoring_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

// The credentials a request reads are kept in pooled blocks that the scorer hands back when a
// committing request ends; the next request reuses them (in a test binary a block is overwritten
// as it is handed back). Nothing may still refer to them then: the same passport scored after
// another one answers byte for byte as before (its facts come from the verification cache,
// which must own its texts) and its registry_stamp rows hold its own credentials. The write
// set returned by a committing request has dropped its credentials; a shadow capture keeps
// them, whole, after other requests ran.
func TestCredentialBytesAreReusedOnlyAfterTheRequest(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", `{"Ens": 1, "Google": 2, "Github": 4}`, "20")
	for _, p := range []string{"Ens", "Google", "Github"} {
		f.stamp(addrA, stampissuer.Stamp{Provider: p})
	}
	for _, p := range []string{"Ens", "Google"} {
		f.stamp(addrB, stampissuer.Stamp{Provider: p, Nullifiers: []string{"v0.0.0:" + p + ":b"}})
	}
	const cachedSQL = `SELECT provider, stamp::text FROM ceramic_cache_ceramiccache WHERE address = $1 AND deleted_at IS NULL`
	const writtenSQL = `SELECT s.provider, s.credential::text FROM registry_stamp s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1`
	first := f.score(c, addrA)
	if first.status != 200 || first.json["score"] != "7.00000" {
		t.Fatalf("first score: %d %s", first.status, first.body)
	}
	f.score(c, addrB)
	if again := f.score(c, addrA); again.body != first.body {
		t.Fatalf("the passport answers differently after another request reused its storage:\n%s\n%s", first.body, again.body)
	}
	if written, want := credentialsByProvider(f, writtenSQL, addrA), credentialsByProvider(f, cachedSQL, addrA); !reflect.DeepEqual(written, want) {
		t.Fatalf("registry_stamp holds other credentials than the ceramic cache's:\n%v\n%v", written, want)
	}

	in := v2.NinjaRequest(&f.scorer.Settings, fmt.Sprint(c), addrA, http.Header{"X-Api-Key": {f.key}}, "", nil, "")
	res, err := f.scorer.Score(f.ctx, in, store.CommitSink{Pool: f.pool})
	if err != nil || res.Writes == nil || res.Writes.Stamps == nil {
		t.Fatalf("score: %v %+v", err, res.Writes)
	}
	for _, s := range res.Writes.Stamps.Stamps {
		if s.Credential != nil {
			t.Fatalf("a committing request's write set still refers to the credential of %s", s.Provider)
		}
	}

	capture := &store.CaptureSink{}
	if _, err := f.scorer.Score(f.ctx, in, capture); err != nil {
		t.Fatal(err)
	}
	f.score(c, addrB)
	f.score(c, addrA)
	captured := map[string]any{}
	for _, s := range capture.Writes.Stamps.Stamps {
		captured[s.Provider] = decodeCredential(t, s.Credential)
	}
	if want := credentialsByProvider(f, cachedSQL, addrA); !reflect.DeepEqual(captured, want) {
		t.Fatalf("the capture's credentials changed after other requests:\n%v\n%v", captured, want)
	}
}

// credentialsByProvider runs sql (rows of provider and credential text) for address and
// decodes each credential.
func credentialsByProvider(f *fixture, sql, address string) map[string]any {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, sql, address)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]any{}
	for rows.Next() {
		var provider, credential string
		if err := rows.Scan(&provider, &credential); err != nil {
			f.t.Fatal(err)
		}
		out[provider] = decodeCredential(f.t, []byte(credential))
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func decodeCredential(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("credential %q: %v", b, err)
	}
	return v
}
