package scoring_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/route"
	v2 "shadowproxy/internal/routes/v2"
	"shadowproxy/internal/stampissuer"
	"shadowproxy/internal/store"
)

// djangoCeramicSQL is the statement Django's ORM sends for aget_passport's read (printed from
// the ORM for CeramicCache.objects.filter(address=..., deleted_at__isnull=True,
// revocation__isnull=True)), with the address interpolated client-side as psycopg2 does.
const djangoCeramicSQL = `SELECT "ceramic_cache_ceramiccache"."id", "ceramic_cache_ceramiccache"."address", "ceramic_cache_ceramiccache"."provider", "ceramic_cache_ceramiccache"."stamp", "ceramic_cache_ceramiccache"."created_at", "ceramic_cache_ceramiccache"."proof_value", "ceramic_cache_ceramiccache"."updated_at", "ceramic_cache_ceramiccache"."deleted_at", "ceramic_cache_ceramiccache"."type", "ceramic_cache_ceramiccache"."compose_db_save_status", "ceramic_cache_ceramiccache"."compose_db_stream_id", "ceramic_cache_ceramiccache"."issuance_date", "ceramic_cache_ceramiccache"."expiration_date", "ceramic_cache_ceramiccache"."source_scorer_id", "ceramic_cache_ceramiccache"."source_app" FROM "ceramic_cache_ceramiccache" LEFT OUTER JOIN "ceramic_cache_revocation" ON ("ceramic_cache_ceramiccache"."id" = "ceramic_cache_revocation"."ceramic_cache_id") WHERE ("ceramic_cache_ceramiccache"."address" = $1 AND "ceramic_cache_ceramiccache"."deleted_at" IS NULL AND "ceramic_cache_revocation"."id" IS NULL)`

// Planner settings under which the read-order tests run: whatever the plan, the Go scorer
// must see the rows in the order Django's statement gets on the same database.
var plannerSettings = []struct {
	name   string
	params map[string]string
}{
	{"default plan", nil},
	{"sequential scan (heap order)", map[string]string{"enable_indexscan": "off", "enable_bitmapscan": "off"}},
	{"bitmap scan", map[string]string{"enable_seqscan": "off", "enable_indexscan": "off"}},
	{"index scan", map[string]string{"enable_seqscan": "off", "enable_bitmapscan": "off"}},
}

// usePlanner points the fixture's scorer and HTTP server at a new pool on the same database
// whose sessions run with the given planner settings.
func (f *fixture) usePlanner(params map[string]string) *pgxpool.Pool {
	return f.usePool(func(cfg *pgxpool.Config) {
		for k, v := range params {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
	})
}

// usePool points the fixture's scorer and HTTP server at a new pool on the same database,
// configured by configure.
func (f *fixture) usePool(configure func(*pgxpool.Config)) *pgxpool.Pool {
	f.t.Helper()
	cfg, err := pgxpool.ParseConfig(f.pool.Config().ConnString())
	if err != nil {
		f.t.Fatal(err)
	}
	configure(cfg)
	pool, err := pgxpool.NewWithConfig(f.ctx, cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(pool.Close)
	scorer := *f.scorer
	scorer.DB = store.Reader{Q: pool}
	f.scorer = &scorer
	f.srv.Close()
	f.srv = httptest.NewServer(&v2.Handler{Score: &v2.Score{Scorer: f.scorer, Sink: store.CommitSink{Pool: pool}}, Dialect: route.Ninja})
	f.t.Cleanup(f.srv.Close)
	return pool
}

// cachedRow is a ceramic-cache row as Django's read returns it.
type cachedRow struct {
	id       int64
	provider string
}

// djangoRead runs Django's statement on pool (simple protocol: the address is interpolated,
// so the plan is a custom one, as psycopg2's) and returns the rows in the order they came.
func (f *fixture) djangoRead(pool *pgxpool.Pool, address string) []cachedRow {
	f.t.Helper()
	rows, err := pool.Query(f.ctx, djangoCeramicSQL, pgx.QueryExecModeSimpleProtocol, address)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []cachedRow
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, cachedRow{id: vals[0].(int64), provider: vals[2].(string)})
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// stampKeys returns the keys of the response's "stamps" object in the order they were sent.
func stampKeys(t *testing.T, body string) []string {
	t.Helper()
	var raw struct {
		Stamps json.RawMessage `json:"stamps"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw.Stamps))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key.(string))
	}
	return keys
}

// pythonSums are Python's 28-digit Decimal sums of Decimal(1.7), Decimal(5.3) and Decimal(3.1)
// (JSON floats) in every order of addition: the last digit depends on the order.
var pythonSums = map[string]string{
	"A,B,C": "10.09999999999999986677323705",
	"A,C,B": "10.09999999999999986677323704",
	"B,A,C": "10.09999999999999986677323705",
	"B,C,A": "10.09999999999999986677323704",
	"C,A,B": "10.09999999999999986677323704",
	"C,B,A": "10.09999999999999986677323704",
}

// Issue 16 §1: the ceramic cache is read with Django's statement and no ORDER BY, so the rows
// come in Django's order whatever the plan, and that order carries through LIFO, the
// registry_stamp rows, the 28-digit sum (evidence.rawScore) and the keys of "stamps". The rows
// are inserted as B, C, A (so neither id nor provider order is alphabetical order of ids) and a
// no-op UPDATE moves B to the end of the heap.
func TestReadOrderFollowsDjangosStatement(t *testing.T) {
	for _, ps := range plannerSettings {
		t.Run(ps.name, func(t *testing.T) {
			f := newFixture(t)
			pool := f.usePlanner(ps.params)
			c := f.community(f.account, "WEIGHTED", `{"A": 1.7, "B": 5.3, "C": 3.1}`, "20")
			var byID []string
			for _, p := range []string{"B", "C", "A"} {
				f.stamp(addrA, stampissuer.Stamp{Provider: p})
				byID = append(byID, p)
			}
			f.exec(`UPDATE ceramic_cache_ceramiccache SET updated_at = updated_at WHERE address = $1 AND provider = 'B'`, addrA)
			var order []string
			for _, r := range f.djangoRead(pool, addrA) {
				order = append(order, r.provider)
			}
			if strings.Contains(ps.name, "sequential") && slices.Equal(order, byID) {
				t.Fatalf("fixture: heap order %v is still id order", order)
			}
			r := f.score(c, addrA)
			if r.status != 200 || r.json["error"] != nil {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if got := stampKeys(t, r.body); !slices.Equal(got, order) {
				t.Errorf("stamps keys %v, Django's row order %v", got, order)
			}
			var stored []string
			rows, err := f.pool.Query(f.ctx, `SELECT provider FROM registry_stamp ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			if stored, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(stored, order) {
				t.Errorf("registry_stamp rows inserted as %v, Django's row order %v", stored, order)
			}
			want := pythonSums[strings.Join(order, ",")]
			if got := f.text(`SELECT evidence->>'rawScore' FROM registry_score`); got != want {
				t.Errorf("rawScore %s, Python's sum in order %v is %s", got, order, want)
			}
		})
	}
}

// Issue 16 §1: two cache rows with the same provider column (types 2 and 1, in id order) and
// the same updated_at: Django keeps the first one its read returns, so the winner follows the
// row order, not the id order. A no-op UPDATE moves the first row to the end of the heap.
func TestSameProviderTieFollowsRowOrder(t *testing.T) {
	for _, ps := range plannerSettings {
		t.Run(ps.name, func(t *testing.T) {
			f := newFixture(t)
			pool := f.usePlanner(ps.params)
			c := f.community(f.account, "WEIGHTED", `{"Google": 1}`, "20")
			expiries := map[int64]string{}
			for i, typ := range []int{2, 1} {
				exp := inDays(10 + i)
				raw := f.issuer.Issue(stampissuer.Stamp{Address: addrA, Provider: "Google", Nullifiers: []string{fmt.Sprintf("v0:g%d", i)}, Expires: exp})
				id := f.int64(`INSERT INTO ceramic_cache_ceramiccache (address, provider, stamp, created_at, updated_at, proof_value, type,
  compose_db_save_status, compose_db_stream_id)
VALUES ($1, 'Google', $2::jsonb, now(), '2026-01-01T00:00:00Z', $3, $4, '', '') RETURNING id`, addrA, string(raw), fmt.Sprintf("proof-tie-%d", i), typ)
				expiries[id] = exp.Format("2006-01-02T15:04:05.000") + "000+00:00"
			}
			f.exec(`UPDATE ceramic_cache_ceramiccache SET updated_at = updated_at WHERE address = $1 AND type = 2`, addrA)
			rows := f.djangoRead(pool, addrA)
			r := f.score(c, addrA)
			got := r.json["stamps"].(map[string]any)["Google"].(map[string]any)["expiration_date"]
			if want := expiries[rows[0].id]; got != want {
				t.Fatalf("kept the stamp expiring %v; Django's read returns row %d first (expiring %s)", got, rows[0].id, want)
			}
			if strings.Contains(ps.name, "sequential") && rows[0].id == min(rows[0].id, rows[1].id) {
				t.Fatalf("fixture: heap order is still id order")
			}
		})
	}
}

// lastValue is a sequence's last_value (0 before its first use).
func (f *fixture) lastValue(sequence string) int64 {
	f.t.Helper()
	return f.int64(`SELECT COALESCE(last_value, 0) FROM pg_sequences WHERE schemaname = 'public' AND sequencename = $1`, sequence)
}

// Issue 16 §2: Django's update_or_create (passport) and get_or_create (score) insert nothing
// for a passport already scored, so rescoring moves neither sequence; the rows Django inserts on
// every request (two registry_stamp rows, one SCU event) draw their ids as in Django, and owned
// links are updated in place.
func TestRescoringDrawsNoIdentityValues(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google"})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens"})
	if r := f.score(c, addrA); r.json["score"] != "0.73300" {
		t.Fatalf("%s", r.body)
	}
	sequences := []string{"registry_passport_id_seq", "registry_score_id_seq", "registry_hashscorerlink_id_seq",
		"registry_stamp_id_seq", "registry_event_id_seq"}
	before := map[string]int64{}
	for _, s := range sequences {
		before[s] = f.lastValue(s)
	}
	for range 3 {
		if r := f.score(c, addrA); r.status != 200 || r.json["score"] != "0.73300" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	wantDrawn := map[string]int64{"registry_stamp_id_seq": 3 * 2, "registry_event_id_seq": 3}
	for _, s := range sequences {
		if drawn := f.lastValue(s) - before[s]; drawn != wantDrawn[s] {
			t.Errorf("%s: three rescorings drew %d ids, Django draws %d", s, drawn, wantDrawn[s])
		}
	}
	if n := f.int64(`SELECT (SELECT count(*) FROM registry_passport) * 10 + (SELECT count(*) FROM registry_score)`); n != 11 {
		t.Fatalf("passport*10+score rows = %d", n)
	}
}

// Issue 16 §2: Django's bulk insert of hash links draws one id per row up to the row that
// violates the unique index, on each of its five attempts, and rolls back; the same nullifier
// in two stamps therefore draws 2 ids five times.
func TestFailedLinkInsertsDrawIDsAsDjango(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"v0:same"}})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens", Nullifiers: []string{"v0:same"}})
	before := f.lastValue("registry_hashscorerlink_id_seq")
	if r := f.score(c, addrA); r.json["error"] != "Failed to save HashScorerLinks" {
		t.Fatalf("%s", r.body)
	}
	if drawn := f.lastValue("registry_hashscorerlink_id_seq") - before; drawn != 10 {
		t.Fatalf("drew %d registry_hashscorerlink ids, Django draws 10", drawn)
	}
	if n := f.int64(`SELECT count(*) FROM registry_hashscorerlink`); n != 0 {
		t.Fatalf("%d links written", n)
	}
}

// Issue 16 §3: two stamps share a nullifier the address already owns and carry the same
// expirationDate string. Python updates the link once (the second comparison is str == str),
// its count check passes and the address is scored; the link keeps its id, with the new expiry.
func TestOwnedLinkSharedByStampsWithSameExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.community(f.account, "WEIGHTED", defaultWeights, "20")
	linkID := f.int64(`INSERT INTO registry_hashscorerlink (hash, community_id, address, expires_at) VALUES ('v0:shared', $1, $2, $3) RETURNING id`,
		c, addrA, inDays(1))
	exp := inDays(30)
	f.stamp(addrA, stampissuer.Stamp{Provider: "Google", Nullifiers: []string{"v0:shared"}, Expires: exp})
	f.stamp(addrA, stampissuer.Stamp{Provider: "Ens", Nullifiers: []string{"v0:shared"}, Expires: exp})
	r := f.score(c, addrA)
	if r.status != 200 || r.json["error"] != nil || r.json["score"] != "0.73300" || r.json["expiration_timestamp"] != exp.Format("2006-01-02T15:04:05.000")+"000+00:00" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	links := f.links(c)
	if len(links) != 1 || links["v0:shared"].Address != addrA || !links["v0:shared"].Expires.Equal(exp) {
		t.Fatalf("links %+v", links)
	}
	if id := f.int64(`SELECT id FROM registry_hashscorerlink`); id != linkID {
		t.Fatalf("link id %d, want %d (updated in place)", id, linkID)
	}
	if got := f.text(`SELECT status || ' ' || (evidence->>'rawScore') || ' ' || (SELECT string_agg(provider, ',' ORDER BY provider) FROM registry_stamp) FROM registry_score`); got != "DONE 0.7330000000000000126565424807 Ens,Google" {
		t.Fatalf("score row %s", got)
	}
	if n := len(f.events("LDP")); n != 0 {
		t.Fatalf("%d LDP events", n)
	}
}
