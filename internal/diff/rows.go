package diff

import (
	"context"
	"errors"
	"fmt"
	"shadowproxy/internal/store"
	"time"

	"github.com/jackc/pgx/v5"
)

// ScoreRow is a registry_score row as read back.
type ScoreRow struct {
	Score              *string    `json:"score"`
	Status             *string    `json:"status"`
	LastScoreTimestamp *time.Time `json:"last_score_timestamp"`
	Error              *string    `json:"error"`
	Evidence           *string    `json:"evidence"`
	StampScores        *string    `json:"stamp_scores"`
	Stamps             *string    `json:"stamps"`
	ExpirationDate     *time.Time `json:"expiration_date"`
}

// StampRow is a registry_stamp row.
type StampRow struct {
	Provider   string `json:"provider"`
	Credential string `json:"credential"`
}

// Link is a registry_hashscorerlink row's values.
type Link struct {
	Address   string    `json:"address"`
	ExpiresAt time.Time `json:"expires_at"`
}

// EventRow is a registry_event row written for the request. Address, CommunityID and
// CreatedAt are zero in a record stored before they were read (then not compared).
type EventRow struct {
	Action      string     `json:"action"`
	Data        string     `json:"data"`
	Address     string     `json:"address,omitempty"`
	CommunityID int64      `json:"community_id,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
}

// Rows are the rows of one passport that a scoring request writes, as read at one moment.
type Rows struct {
	Score    *ScoreRow       `json:"score"`
	Stamps   []StampRow      `json:"stamps"`
	Links    map[string]Link `json:"hash_links"`
	MaxEvent int64           `json:"-"` // highest registry_event id (in the snapshot)
	Events   []EventRow      `json:"events,omitempty"`
	// HumanPoints are the address's human-points rows; nil in a record stored before they were
	// read (then not compared).
	HumanPoints *HumanPointsRows `json:"human_points,omitempty"`
	// LatestEvent is the time of the passport's latest LDP or SCU event, read with the
	// snapshot's rows (sinceEvent < 0) to tell a snapshot taken during Django's writes.
	LatestEvent *time.Time `json:"-"`
	ReadAt      time.Time  `json:"read_at"`
	Committed   bool       `json:"-"`
}

const (
	sqlScoreRow = `SELECT s.score::text, s.status, s.last_score_timestamp, s.error, s.evidence::text, s.stamp_scores::text,
  s.stamps::text, s.expiration_date
FROM registry_score s JOIN registry_passport p ON p.id = s.passport_id WHERE p.address = $1 AND p.community_id = $2`
	sqlStampRows = `SELECT st.provider, st.credential::text FROM registry_stamp st
JOIN registry_passport p ON p.id = st.passport_id WHERE p.address = $1 AND p.community_id = $2 ORDER BY st.id`
	sqlLinkRows = `SELECT hash, address, expires_at FROM registry_hashscorerlink
WHERE community_id = $1 AND (hash = ANY($2) OR address = $3)`
	sqlMaxEvent  = `SELECT coalesce(max(id), 0) FROM registry_event`
	sqlNewEvents = `SELECT action, data::text, address, community_id, created_at FROM registry_event
WHERE id > $1 AND address = $2 AND community_id = $3 ORDER BY id`
	sqlLatestEvent = `SELECT max(created_at) FROM registry_event WHERE action IN ('LDP', 'SCU') AND address = $1 AND community_id = $2`
)

// ReadRows reads the passport's rows in one round trip: its score and stamps, the links of the
// given hashes and every link the address holds in the community, the address's human-points
// rows. With sinceEvent >= 0 it also reads the events written for the passport after that
// event id; without, the time of the passport's latest event.
func ReadRows(ctx context.Context, q store.Querier, address string, community int64, hashes []string, sinceEvent int64) (Rows, error) {
	rows := Rows{Links: map[string]Link{}, ReadAt: time.Now()}
	b := &pgx.Batch{}
	b.Queue(sqlScoreRow, address, community)
	b.Queue(sqlStampRows, address, community)
	b.Queue(sqlLinkRows, community, hashes, address)
	b.Queue(sqlMaxEvent)
	queueHumanPointsRows(b, address)
	if sinceEvent >= 0 {
		b.Queue(sqlNewEvents, sinceEvent, address, community)
	} else {
		b.Queue(sqlLatestEvent, address, community)
	}
	res := q.SendBatch(ctx, b)
	defer res.Close()
	var s ScoreRow
	err := res.QueryRow().Scan(&s.Score, &s.Status, &s.LastScoreTimestamp, &s.Error, &s.Evidence, &s.StampScores, &s.Stamps, &s.ExpirationDate)
	switch {
	case err == nil:
		rows.Score = &s
	case !errors.Is(err, pgx.ErrNoRows):
		return rows, fmt.Errorf("read score row: %w", err)
	}
	stamps, err := res.Query()
	if err != nil {
		return rows, fmt.Errorf("read stamps: %w", err)
	}
	rows.Stamps, err = pgx.CollectRows(stamps, pgx.RowToStructByPos[StampRow])
	if err != nil {
		return rows, fmt.Errorf("read stamps: %w", err)
	}
	links, err := res.Query()
	if err != nil {
		return rows, fmt.Errorf("read hash links: %w", err)
	}
	for links.Next() {
		var h string
		var l Link
		if err := links.Scan(&h, &l.Address, &l.ExpiresAt); err != nil {
			return rows, fmt.Errorf("read hash links: %w", err)
		}
		rows.Links[h] = l
	}
	if err := links.Err(); err != nil {
		return rows, fmt.Errorf("read hash links: %w", err)
	}
	if err := res.QueryRow().Scan(&rows.MaxEvent); err != nil {
		return rows, fmt.Errorf("read max event: %w", err)
	}
	if rows.HumanPoints, err = readHumanPointsRows(res); err != nil {
		return rows, err
	}
	if sinceEvent >= 0 {
		events, err := res.Query()
		if err != nil {
			return rows, fmt.Errorf("read events: %w", err)
		}
		if rows.Events, err = pgx.CollectRows(events, pgx.RowToStructByPos[EventRow]); err != nil {
			return rows, fmt.Errorf("read events: %w", err)
		}
	} else if err := res.QueryRow().Scan(&rows.LatestEvent); err != nil {
		return rows, fmt.Errorf("read the latest event: %w", err)
	}
	return rows, nil
}

// AddressRows are the passports of an address in every community, each with its score row, as
// read at one moment: what a scoring request for the address can create or change. They are
// read when Go planned no passport write (it answered before scoring), to see whether Django
// wrote anyway.
type AddressRows struct {
	// Passports maps a community id to the state of the passport's score row ("" when the
	// passport has none).
	Passports map[int64]string `json:"passports"`
	// ScoreTimes maps a community id to the score row's last_score_timestamp, when set.
	ScoreTimes map[int64]time.Time `json:"-"`
	MaxEvent   int64               `json:"-"` // highest registry_event id
	SCUEvents  int                 `json:"scu_events,omitempty"`
}

const (
	sqlAddressScores = `SELECT p.community_id, s.id IS NOT NULL, coalesce(s.status, ''), coalesce(s.error, ''), s.last_score_timestamp
FROM registry_passport p LEFT JOIN registry_score s ON s.passport_id = p.id WHERE p.address = $1`
	sqlAddressSCU = `SELECT count(*) FROM registry_event WHERE id > $1 AND address = $2 AND action = 'SCU'`
)

// ReadAddressRows reads the address's passports and score rows in one round trip; with
// sinceEvent >= 0 it also counts the SCU events written for the address after that event id.
func ReadAddressRows(ctx context.Context, q store.Querier, address string, sinceEvent int64) (AddressRows, error) {
	out := AddressRows{Passports: map[int64]string{}, ScoreTimes: map[int64]time.Time{}}
	b := &pgx.Batch{}
	b.Queue(sqlAddressScores, address)
	b.Queue(sqlMaxEvent)
	if sinceEvent >= 0 {
		b.Queue(sqlAddressSCU, sinceEvent, address)
	}
	res := q.SendBatch(ctx, b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("read the address's scores: %w", err)
	}
	for rows.Next() {
		var community int64
		var hasScore bool
		var status, errText string
		var at *time.Time
		if err := rows.Scan(&community, &hasScore, &status, &errText, &at); err != nil {
			return out, fmt.Errorf("read the address's scores: %w", err)
		}
		state := ""
		if hasScore {
			state = status + "|" + errText + "|" + fmt.Sprint(timeValue(at))
		}
		out.Passports[community] = state
		if at != nil {
			out.ScoreTimes[community] = *at
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("read the address's scores: %w", err)
	}
	if err := res.QueryRow().Scan(&out.MaxEvent); err != nil {
		return out, fmt.Errorf("read max event: %w", err)
	}
	if sinceEvent >= 0 {
		if err := res.QueryRow().Scan(&out.SCUEvents); err != nil {
			return out, fmt.Errorf("count the address's events: %w", err)
		}
	}
	return out, nil
}
