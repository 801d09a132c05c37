package internalapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"shadowproxy/internal/pgtest"
	"shadowproxy/internal/route"
	"shadowproxy/internal/routes/ninja"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const token = "internal-s3cret"

// Addresses of the fixture. checksummed is addrA's EIP-55 spelling.
const (
	addrA       = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
	checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	addrB       = "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"
	addrC       = "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb"
)

// serveTable answers with the Go side of the given routes over real HTTP, as the proxy's Go
// backend does: the first route whose Parse takes the request serves it.
func serveTable(t *testing.T, routes []route.Route) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, rt := range routes {
			if rt.Method != r.Method {
				continue
			}
			call, ok := rt.Handler.Parse(r, body, route.Ninja)
			if !ok {
				continue
			}
			a, err := rt.Handler.Serve(r.Context(), call)
			if err != nil {
				t.Errorf("%s: %v", rt.Name, err)
				a = rt.Handler.Failed(call, err)
			}
			for k, v := range a.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(a.Status)
			_, _ = w.Write(a.Body)
			return
		}
		w.Header().Set("X-Test", "not-mine") // Django would answer
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func exec(t *testing.T, db *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// readsFixture holds one row or more for every internal read.
func readsFixture(t *testing.T, db *pgxpool.Pool) {
	exec(t, db, `INSERT INTO ceramic_cache_ban (type, provider, hash, address, end_time, reason, created_at) VALUES
 ('account', '', '', $1, NULL, 'sybil', now()),
 ('single_stamp', 'Google', '', $2, '2099-01-01T00:00:00Z', NULL, now()),
 ('hash', '', 'h-banned', '', '2099-01-01T00:00:00.123456Z', 'shared hash', now()),
 ('account', '', '', $3, '2001-01-01T00:00:00Z', 'expired', now())`, addrA, "0x"+strings.ToUpper(addrB[2:]), addrC)
	exec(t, db, `INSERT INTO ceramic_cache_ceramiccache (id, address, provider, stamp, created_at, updated_at, proof_value, type, compose_db_save_status, compose_db_stream_id)
VALUES (1, $1, 'Google', '{}', now(), now(), 'pv-revoked', 1, 'pending', '')`, addrA)
	exec(t, db, `INSERT INTO ceramic_cache_revocation (proof_value, ceramic_cache_id) VALUES ('pv-revoked', 1)`)
	exec(t, db, `INSERT INTO account_addresslist (id, name) VALUES (1, 'round-7')`)
	exec(t, db, `INSERT INTO account_addresslistmember (address, list_id) VALUES ($1, 1)`, addrA)
	exec(t, db, `INSERT INTO account_customcredentialruleset (credential_type, definition, name, provider_id) VALUES
 ('DEVEL', '{"name": "é", "condition": {"AND": [1, 2.50, null]}}', 'dev', 'DeveloperList#repo#1')`)
	exec(t, db, `INSERT INTO stake_stake (chain, lock_time, unlock_time, last_updated_in_block, staker, stakee, current_amount) VALUES
 (1, '2024-01-02T03:04:05Z', '2024-04-02T03:04:05.250Z', 123456789012345678901234567890, $1, $1, 5.5),
 (10, '2024-01-02T03:04:05Z', '2024-04-02T03:04:05Z', 7, $2, $1, 0.000000000000000001),
 (1, '2024-01-02T03:04:05Z', '2024-04-02T03:04:05Z', 8, $2, $3, 1)`, addrA, addrB, addrC)
	exec(t, db, `INSERT INTO registry_gtcstakeevent (event_type, round_id, staker, address, amount, staked, block_number, tx_hash) VALUES
 ('SelfStake', 3, $1, NULL, 12.5, true, 100, '0xtx1'),
 ('Xstake', 3, $2, $1, 0.0000001, false, 101, '0xtx2'),
 ('SelfStake', 4, $1, NULL, 1, true, 102, '0xtx3')`, addrA, addrB)
	exec(t, db, `INSERT INTO cgrants_profile (id, handle, data) VALUES (1, 'p', '{}')`)
	exec(t, db, `INSERT INTO cgrants_grant (id, hidden, active, is_clr_eligible, data, admin_profile_id) VALUES (1, false, true, true, '{}', 1), (2, false, true, true, '{}', 1)`)
	exec(t, db, `INSERT INTO cgrants_subscription (id, data, grant_id, is_mainnet) VALUES (1, '{}', 1, true)`)
	exec(t, db, `INSERT INTO cgrants_contribution (id, data, subscription_id, success, amount_per_period_usdt) VALUES (1, '{}', 1, true, 0), (2, '{}', 1, false, 0)`)
	exec(t, db, `INSERT INTO cgrants_grantcontributionindex (amount, contribution_id, grant_id, profile_id, contributor_address) VALUES
 (10.125, 1, 1, 1, $1), (5, 1, 2, 1, $1), (1, 1, 1, 1, $1), (100, 2, 2, 1, $1), (12345678901.014999999999999995, 1, 1, 1, $2)`, addrA, addrB)
	exec(t, db, `INSERT INTO cgrants_squelchedaccounts (address, score_when_squelched, sybil_signal, round_number) VALUES ($1, 0, true, '18')`, addrA)
	exec(t, db, `INSERT INTO cgrants_roundmapping (round_number, round_eth_address) VALUES ('18', '0xsquelched')`)
	exec(t, db, `INSERT INTO cgrants_protocolcontributions (ext_id, contributor, round, project, amount, data) VALUES
 ('e1', $1, '0xround', 'proj1', 2.0004, '{}'), ('e2', $1, '0xround', 'proj1', 1, '{}'), ('e3', $1, '0xround', 'proj2', 0.95, '{}'),
 ('e4', $1, '0xround', 'proj3', 0.949999999999999999, '{}'), ('e5', $1, '0xsquelched', 'proj4', 50, '{}')`, addrA)
}

type readCase struct {
	name         string
	method, path string
	auth         string // the Authorization header; "-" sends none
	body         string
	status       int
	want         string // the exact body, "" for Django's (the route declines: 418 here)
}

func runReadCases(t *testing.T, srv *httptest.Server, cases []readCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, srv.URL+c.path, bytes.NewBufferString(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.auth != "-" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || string(got) != c.want {
				t.Fatalf("got %d %s\nwant %d %s", resp.StatusCode, got, c.status, c.want)
			}
		})
	}
}

func TestInternalReads(t *testing.T) {
	db := pgtest.NewDB(t)
	readsFixture(t, db)
	reads := &Reads{DB: db, Token: ninja.InternalToken{Value: token}}
	srv := serveTable(t, reads.Routes())
	const unauthorized = `{"detail": "Unauthorized"}`
	cases := []readCase{
		// InternalApiKey (api/internal/api_key.py): the whole header equals CGRANTS_API_TOKEN.
		{"bans no token", "POST", "/internal/check-bans", "-", `[]`, 401, unauthorized},
		{"bans bearer token", "POST", "/internal/check-bans", "Bearer " + token, `[]`, 401, unauthorized},
		{"bans token wins over a bad body", "POST", "/internal/check-bans", "wrong", `{not json`, 401, unauthorized},
		// Ninja's parser (ninja/params/models.py, ninja/operation.py).
		{"bans unparsable body", "POST", "/internal/check-bans", token, `{not json`, 400, `{"detail": "Cannot parse request body"}`},
		{"bans missing body", "POST", "/internal/check-bans", token, ``, 422, `{"detail": [{"type": "missing", "loc": ["body", "payload"], "msg": "Field required"}]}`},
		{"bans missing keys", "POST", "/internal/check-bans", token, `[{"credentialSubject": {"hash": "x"}}, {}]`, 422,
			`{"detail": [{"type": "missing", "loc": ["body", "payload", 0, "credentialSubject", "provider"], "msg": "Field required"}, {"type": "missing", "loc": ["body", "payload", 0, "credentialSubject", "id"], "msg": "Field required"}, {"type": "missing", "loc": ["body", "payload", 1, "credentialSubject"], "msg": "Field required"}]}`},
		{"bans wrong type declines", "POST", "/internal/check-bans", token, `[{"credentialSubject": {"hash": 1, "provider": "x", "id": "x"}}]`, 418, ``},
		// handle_check_bans (api/internal/bans_revocations.py).
		{"bans empty list", "POST", "/internal/check-bans", token, `[]`, 400, `{"detail": "Must provide valid credential(s)"}`},
		{"bans two addresses", "POST", "/internal/check-bans", token,
			`[{"credentialSubject": {"hash": "a", "provider": "p", "id": "did:pkh:eip155:1:` + addrA + `"}}, {"credentialSubject": {"hash": "b", "provider": "p", "id": null}}]`, 400,
			`{"detail": "All credentials must be issued to the same address"}`},
		{"bans null id alone declines (Django's 500 page)", "POST", "/internal/check-bans", token, `[{"credentialSubject": {"hash": "a", "provider": "p", "id": null}}]`, 418, ``},
		{"bans null hash", "POST", "/internal/check-bans", token, `[{"credentialSubject": {"hash": null, "provider": "p", "id": "did:pkh:eip155:1:` + addrC + `"}}]`, 500, `{"detail": "Failed to check bans"}`},
		{"bans account ban, checksummed id", "POST", "/internal/check-bans", token,
			`[{"credentialSubject": {"hash": "x1", "provider": "Google", "id": "did:pkh:eip155:1:` + checksummed + `"}}]`, 200,
			`[{"hash": "x1", "is_banned": true, "end_time": null, "ban_type": "account", "reason": "sybil"}]`},
		{"bans single stamp and hash and none", "POST", "/internal/check-bans", token,
			`[{"credentialSubject": {"hash": "x1", "provider": "Google", "id": "did:pkh:eip155:1:` + addrB + `"}}, {"credentialSubject": {"hash": "h-banned", "provider": "Github", "id": "did:pkh:eip155:1:` + addrB + `"}}, {"credentialSubject": {"hash": "", "provider": null, "id": "did:pkh:eip155:1:` + addrB + `"}}]`, 200,
			`[{"hash": "x1", "is_banned": true, "end_time": "2099-01-01T00:00:00Z", "ban_type": "single_stamp", "reason": null}, {"hash": "h-banned", "is_banned": true, "end_time": "2099-01-01T00:00:00.123Z", "ban_type": "hash", "reason": "shared hash"}, {"hash": "", "is_banned": false, "end_time": null, "ban_type": null, "reason": null}]`},
		{"bans expired ban", "POST", "/internal/check-bans", token,
			`[{"credentialSubject": {"hash": "x", "provider": "Google", "id": "did:pkh:eip155:1:` + addrC + `"}}]`, 200,
			`[{"hash": "x", "is_banned": false, "end_time": null, "ban_type": null, "reason": null}]`},

		// handle_check_revocations.
		{"revocations no token", "POST", "/internal/check-revocations", "-", `{"proof_values": []}`, 401, unauthorized},
		{"revocations missing field", "POST", "/internal/check-revocations", token, `{}`, 422, `{"detail": [{"type": "missing", "loc": ["body", "payload", "proof_values"], "msg": "Field required"}]}`},
		{"revocations too many", "POST", "/internal/check-revocations", token, `{"proof_values": [` + strings.Repeat(`"x", `, 100) + `"x"]}`, 422, `{"detail": "You have submitted too many stamps."}`},
		{"revocations in request order", "POST", "/internal/check-revocations", token, `{"proof_values": ["a", "pv-revoked", "a"]}`, 200,
			`[{"proof_value": "a", "is_revoked": false}, {"proof_value": "pv-revoked", "is_revoked": true}, {"proof_value": "a", "is_revoked": false}]`},
		{"revocations none", "POST", "/internal/check-revocations", token, `{"proof_values": []}`, 200, `[]`},

		// handle_check_allow_list (api/account/api.py): the member address lookup is lower-cased.
		{"allow list no token", "GET", "/internal/allow-list/round-7/" + addrA, "-", ``, 401, unauthorized},
		{"allow list member, upper case", "GET", "/internal/allow-list/round-7/" + strings.ToUpper(addrA), token, ``, 200, `{"is_member": true}`},
		{"allow list not member", "GET", "/internal/allow-list/round-7/" + addrB, token, ``, 200, `{"is_member": false}`},
		{"allow list unknown list", "GET", "/internal/allow-list/nope/" + addrA, token, ``, 200, `{"is_member": false}`},
		{"allow list non-ASCII address is Django's (str.lower)", "GET", "/internal/allow-list/round-7/%C4%B0x", token, ``, 418, ``},

		// handle_get_credential_definition: %23 (after URL decoding) becomes #.
		{"credential no token", "GET", "/internal/customization/credential/x", "-", ``, 401, unauthorized},
		{"credential found via %2523", "GET", "/internal/customization/credential/DeveloperList%2523repo%25231", token, ``, 200,
			`{"ruleset": {"name": "\u00e9", "condition": {"AND": [1, 2.5, null]}}}`},
		{"credential found via %23", "GET", "/internal/customization/credential/DeveloperList%23repo%231", token, ``, 200,
			`{"ruleset": {"name": "\u00e9", "condition": {"AND": [1, 2.5, null]}}}`},
		{"credential unknown", "GET", "/internal/customization/credential/nope", token, ``, 404, `{"detail": "Not Found"}`},

		// handle_get_gtc_stake (api/stake/api.py): validated as written, looked up lower-cased.
		{"stake no token", "GET", "/internal/stake/gtc/" + addrA, "-", ``, 401, unauthorized},
		{"stake invalid address", "GET", "/internal/stake/gtc/0x123", token, ``, 400, `{"detail": "Invalid address."}`},
		{"stake bad checksum", "GET", "/internal/stake/gtc/" + strings.Replace(checksummed, "aA", "Aa", 1), token, ``, 400, `{"detail": "Invalid address."}`},
		{"stake checksummed", "GET", "/internal/stake/gtc/" + checksummed, token, ``, 200,
			`{"items": [{"chain": 1, "staker": "` + addrA + `", "stakee": "` + addrA + `", "amount": "5.500000000000000000", "unlock_time": "2024-04-02T03:04:05.250000+00:00", "lock_time": "2024-01-02T03:04:05+00:00", "last_updated_in_block": 123456789012345678901234567890}, ` +
				`{"chain": 10, "staker": "` + addrB + `", "stakee": "` + addrA + `", "amount": "0.000000000000000001", "unlock_time": "2024-04-02T03:04:05+00:00", "lock_time": "2024-01-02T03:04:05+00:00", "last_updated_in_block": 7}]}`},
		{"stake none", "GET", "/internal/stake/gtc/0x0000000000000000000000000000000000000001", token, ``, 200, `{"items": []}`},

		// handle_get_gtc_stake_legacy (api/registry/api/v1.py): lower-cased, then validated.
		{"legacy no token", "GET", "/internal/stake/legacy-gtc/" + addrA + "/3", "-", ``, 401, unauthorized},
		{"legacy invalid address", "GET", "/internal/stake/legacy-gtc/0xzz/3", token, ``, 400, `{"detail": "Invalid address."}`},
		{"legacy non-numeric round declines (Django's 404)", "GET", "/internal/stake/legacy-gtc/" + addrA + "/x", token, ``, 418, ``},
		{"legacy bad checksum passes (lower-cased first)", "GET", "/internal/stake/legacy-gtc/" + strings.Replace(checksummed, "aA", "Aa", 1) + "/3", token, ``, 200,
			`{"results": [{"id": 1, "event_type": "SelfStake", "round_id": 3, "staker": "` + addrA + `", "address": null, "amount": "12.500000000000000000", "staked": true, "block_number": 100, "tx_hash": "0xtx1"}, ` +
				`{"id": 2, "event_type": "Xstake", "round_id": 3, "staker": "` + addrB + `", "address": "` + addrA + `", "amount": "1.00000000000E-7", "staked": false, "block_number": 101, "tx_hash": "0xtx2"}]}`},

		// handle_get_contributor_statistics (api/cgrants/api.py).
		{"cgrants no token", "GET", "/internal/cgrants/contributor_statistics?address=" + addrA, "-", ``, 401, unauthorized},
		{"cgrants missing address", "GET", "/internal/cgrants/contributor_statistics", token, ``, 422, `{"detail": [{"type": "missing", "loc": ["query", "address"], "msg": "Field required"}]}`},
		{"cgrants invalid address", "GET", "/internal/cgrants/contributor_statistics?address=0x1", token, ``, 400, `{"detail": "Invalid address."}`},
		// cgrants: grants {1, 2} on successful contributions, 10.125 + 5 + 1; protocol: proj1,
		// proj2, proj3 (amount__gte=0.95 compares with the float's Decimal,
		// 0.94999999999999995559..., so 0.949999999999999999 counts; the squelched round does
		// not), round(4.900399999999999999, 3) = 4.900; round(16.125 + 4.900, 2) = 21.02
		// (half-even of 21.025).
		{"cgrants statistics", "GET", "/internal/cgrants/contributor_statistics?address=" + checksummed, token, ``, 200,
			`{"num_grants_contribute_to": 5.0, "total_contribution_amount": 21.02}`},
		// No protocol contributions: 0 + Decimal rounds the 29-digit sum to 28 digits first
		// (12345678901.01500000000000000), then round(…, 2) is half-even 12345678901.02.
		{"cgrants 29 digits, no protocol", "GET", "/internal/cgrants/contributor_statistics?address=" + addrB, token, ``, 200,
			`{"num_grants_contribute_to": 1.0, "total_contribution_amount": 12345678901.02}`},
		{"cgrants nothing", "GET", "/internal/cgrants/contributor_statistics?address=" + addrC, token, ``, 200,
			`{"num_grants_contribute_to": 0.0, "total_contribution_amount": 0.0}`},
	}
	runReadCases(t, srv, cases)
}

// Without CGRANTS_API_TOKEN the proxy cannot check the token: every request is Django's.
func TestInternalReadsWithoutTokenAreDjangos(t *testing.T) {
	reads := &Reads{DB: pgtest.NewDB(t)}
	srv := serveTable(t, reads.Routes())
	runReadCases(t, srv, []readCase{
		{"bans", "POST", "/internal/check-bans", "abc", `[]`, 418, ``},
		{"stake", "GET", "/internal/stake/gtc/" + addrA, "abc", ``, 418, ``},
	})
}

// With no Django to ask (fallback off), a failed read answers what Django's handler makes of
// the exception: the handlers that catch every exception of their reads raise their own error;
// the others leave it to Django's HTML 500 page.
func TestFailedReadsAnswerTheHandlersOwnError(t *testing.T) {
	want := map[string]string{
		CheckBansName:        `500 {"detail": "Failed to check bans"}`,
		CheckRevocationsName: `500 {"detail": "Failed to check revocations"}`,
		StakeGTCName:         `400 {"detail": "Error pulling GTC staking data"}`,
		StakeLegacyGTCName:   `400 {"detail": "Error pulling GTC staking data"}`,
		AllowListName:        "500 " + string(ninja.ServerError().Body),
		CredentialName:       "500 " + string(ninja.ServerError().Body),
		CGrantsStatsName:     "500 " + string(ninja.ServerError().Body),
	}
	for _, rt := range (&Reads{}).Routes() {
		a := rt.Handler.Failed(route.Call{}, context.DeadlineExceeded)
		if got := fmt.Sprintf("%d %s", a.Status, a.Body); got != want[rt.Name] {
			t.Errorf("%s: %s, want %s", rt.Name, got, want[rt.Name])
		}
	}
}
