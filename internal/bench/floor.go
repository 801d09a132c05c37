package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// floorScript replays, with pgbench, the statements one scoring request of a warm 20-stamp
// passport issues, batched as shadowproxy batches them (three pipelines: reads, reads that
// depend on the stamps, the write transaction). chr(58) spells ":" because pgbench would read
// ":bench" as a variable. It is the database floor: what PostgreSQL
// must do per request whatever the application in front of it.
const floorScript = `\set i random(0, 199)
\startpipeline
SELECT id, hashed_key, coalesce(hashed_key_sha256, ''), account_id, rate_limit FROM account_accountapikey WHERE prefix = 'bench001' AND NOT revoked;
SELECT c.id, c.external_scorer_id, c.rule, c.human_points_program, s.type, b.weights::text, b.threshold::text
  FROM account_community c JOIN account_accountapikey k ON k.account_id = c.account_id AND k.prefix = 'bench001'
  LEFT JOIN scorer_weighted_scorer s ON s.id = c.scorer_id LEFT JOIN scorer_weighted_binaryweightedscorer b ON b.scorer_ptr_id = s.id
  WHERE c.external_scorer_id = '%[1]d' OR c.id = %[1]d;
SELECT cc.provider, cc.stamp::text, cc.updated_at FROM ceramic_cache_ceramiccache cc
  WHERE cc.address = '0x' || lpad(to_hex(3187671040 + CAST(:i AS bigint)), 40, '0') AND cc.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM ceramic_cache_revocation r WHERE r.ceramic_cache_id = cc.id) ORDER BY cc.id;
\endpipeline
\startpipeline
SELECT count(*) FROM account_customization WHERE scorer_id = %[1]d;
SELECT id, hash, address, expires_at FROM registry_hashscorerlink WHERE community_id = %[1]d
  AND hash = ANY(ARRAY(SELECT 'v0' || chr(58) || 'bench-' || CAST(:i AS bigint) || '-' || g FROM generate_series(0, 19) g));
\endpipeline
\startpipeline
BEGIN;
INSERT INTO registry_passport (address, community_id, requires_calculation) VALUES ('0x' || lpad(to_hex(3187671040 + CAST(:i AS bigint)), 40, '0'), %[1]d, NULL) ON CONFLICT (address, community_id) DO NOTHING;
SELECT id FROM registry_passport WHERE address = '0x' || lpad(to_hex(3187671040 + CAST(:i AS bigint)), 40, '0') AND community_id = %[1]d FOR UPDATE;
UPDATE registry_hashscorerlink SET expires_at = expires_at WHERE community_id = %[1]d AND hash = ANY(ARRAY(SELECT 'v0' || chr(58) || 'bench-' || CAST(:i AS bigint) || '-' || g FROM generate_series(0, 19) g));
DELETE FROM registry_stamp WHERE passport_id = (SELECT id FROM registry_passport WHERE address = '0x' || lpad(to_hex(3187671040 + CAST(:i AS bigint)), 40, '0') AND community_id = %[1]d);
INSERT INTO registry_stamp (passport_id, provider, credential) SELECT p.id, cc.provider, cc.stamp FROM registry_passport p, ceramic_cache_ceramiccache cc
  WHERE p.address = '0x' || lpad(to_hex(3187671040 + CAST(:i AS bigint)), 40, '0') AND p.community_id = %[1]d AND cc.address = p.address ORDER BY cc.id;
WITH s AS (INSERT INTO registry_score (passport_id, score, last_score_timestamp, status, error, evidence, stamp_scores, stamps, expiration_date)
  SELECT p.id, 1, now(), 'DONE', NULL, '{"type": "ThresholdScoreCheck", "success": true, "rawScore": "25", "threshold": "20.00000"}', '{}', '{}', now()
  FROM registry_passport p WHERE p.address = '0x' || lpad(to_hex(3187671040 + CAST(:i AS bigint)), 40, '0') AND p.community_id = %[1]d
  ON CONFLICT (passport_id) DO UPDATE SET score = EXCLUDED.score, last_score_timestamp = EXCLUDED.last_score_timestamp RETURNING id, passport_id)
INSERT INTO registry_event (action, address, community_id, created_at, data) SELECT 'SCU', '0x' || lpad(to_hex(3187671040 + CAST(:i AS bigint)), 40, '0'), %[1]d, now(), jsonb_build_object('pk', s.id) FROM s;
COMMIT;
\endpipeline
`

// pgbenchPath finds pgbench beside the server binaries.
func pgbenchPath() (string, error) {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(matches) == 0 {
		return "", fmt.Errorf("pgbench not found (Debian's postgresql package)")
	}
	return matches[len(matches)-1], nil
}

// floor runs the floor script with pgbench at the given concurrency and returns its figures.
func floor(dbURL string, community int64, clients int, d time.Duration, dir string) (Result, error) {
	bin, err := pgbenchPath()
	if err != nil {
		return Result{}, err
	}
	script := filepath.Join(dir, "floor.sql")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(floorScript, community)), 0o644); err != nil {
		return Result{}, err
	}
	logDir := filepath.Join(dir, fmt.Sprintf("pgbench-%d", clients))
	_ = os.RemoveAll(logDir)
	_ = os.MkdirAll(logDir, 0o755)
	name := fmt.Sprintf("database floor (pgbench), %d client(s)", clients)
	fmt.Fprintf(os.Stderr, "%-40s running for %s\n", name, d)
	cmd := exec.Command(bin, "-n", "-M", "prepared", "-f", script, "-c", strconv.Itoa(clients), "-j", strconv.Itoa(clients),
		"-T", strconv.Itoa(int(d.Seconds())), "-l", "--log-prefix", filepath.Join(logDir, "tx"), dbURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return Result{}, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	var lat []float64
	files, _ := filepath.Glob(filepath.Join(logDir, "tx*"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 3 {
				us, _ := strconv.ParseFloat(fields[2], 64)
				lat = append(lat, us/1000)
			}
		}
		fh.Close()
	}
	slices.Sort(lat)
	r := Result{Scenario: name, Requests: int64(len(lat)), Throughput: float64(len(lat)) / d.Seconds()}
	if len(lat) > 0 {
		q := func(p float64) float64 { return lat[int(p*float64(len(lat)-1))] }
		r.P50, r.P95, r.P99 = q(0.5), q(0.95), q(0.99)
	}
	return r, nil
}
