package embed

import (
	"fmt"
	"strings"
	"testing"
)

// Django scores embed-stamps by reading the ceramic cache again after its writes (aget_passport:
// no ORDER BY), so the scored stamps, the registry_stamp rows and the V2 "stamps" object follow
// PostgreSQL's order of the rows after the insert. When the insert reuses space freed ahead of
// an old row, PostgreSQL returns the new row first: Go scored the old rows, then the new ones
// (Ens, Google), where Django scores Google, Ens.
func TestEmbedStampsScoreInTheOrderPostgreSQLReadsAfterTheWrites(t *testing.T) {
	f := newFixture(t)
	filler := f.cache("0x0000000000000000000000000000000000000002", "Filler", []byte(`{}`))
	f.cache(addr, "Ens", f.stamp(addr, "Ens"))
	f.exec(`DELETE FROM ceramic_cache_ceramiccache WHERE id = $1`, filler)
	f.exec(`VACUUM ceramic_cache_ceramiccache`)
	body := fmt.Sprintf(`{"scorer_id": %d, "stamps": [%s]}`, f.community, f.stamp(addr, "Google"))
	r := f.do("POST", "/internal/embed/stamps/"+addr, body, auth(token)...)
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	// What Django's aget_passport reads after the same writes (its statement, no ORDER BY).
	dbOrder := f.rows(`SELECT cc.provider FROM ceramic_cache_ceramiccache cc LEFT OUTER JOIN ceramic_cache_revocation r ON (cc.id = r.ceramic_cache_id)
WHERE (cc.address = $1 AND cc.deleted_at IS NULL AND r.id IS NULL)`, addr)
	stampsAt := strings.Index(r.body, `"score": {`)
	scoreBody := r.body[stampsAt:]
	goOrder := "Ens,Google"
	if strings.Index(scoreBody, `"Google": {`) < strings.Index(scoreBody, `"Ens": {`) {
		goOrder = "Google,Ens"
	}
	regOrder := f.rows(`SELECT s.provider FROM registry_stamp s ORDER BY s.id`)
	if strings.Join(dbOrder, ",") != "Google,Ens" {
		t.Fatalf("the set-up did not put the new row first: %v", dbOrder)
	}
	if goOrder != "Google,Ens" || strings.Join(regOrder, ",") != "Google,Ens" {
		t.Fatalf("database order after the writes %v (Django scores in this order), Go scored %s; registry_stamp by id %v\n%s", dbOrder, goOrder, regOrder, scoreBody)
	}
}
