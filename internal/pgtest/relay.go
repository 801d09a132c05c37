package pgtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Relay is a TCP relay in front of PostgreSQL, so that a test can hold back or drop what
// PostgreSQL answers, and break the client's side of a connection while PostgreSQL's side, and
// the backend on it, lives on. Connections pass through untouched until the test says
// otherwise:
//   - a held connection forwards nothing from PostgreSQL to the client until Release, and then
//     all it held back in one write (so that the client reads it at once);
//   - a muted connection forwards nothing from PostgreSQL to the client, ever;
//   - a cut connection has its client side closed and forwards nothing more to PostgreSQL (not
//     even the client's Terminate message); its server side is kept open until the test ends.
//
// It drops every cancel request: lost, as one can be on its way (it travels on a connection of
// its own; pgx sends one whenever a connection fails), so that a test decides alone what the
// backend is doing when the client's side breaks.
type Relay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []*relayedConn
	hung   atomic.Bool // every connection, the new ones too, is muted
	// cutAfter, when set, is the text after whose arrival in an answer a connection is cut at
	// its client's next message (CutAfter).
	cutAfter atomic.Pointer[[]byte]
}

type relayedConn struct {
	relay          *Relay
	client, server net.Conn
	muted, cut     atomic.Bool
	armed          atomic.Bool // an answer held the CutAfter text: the client's next message cuts
	// toClient guards what goes to the client: held answers wait in pending and reach the
	// client in one write on Release, before anything after them.
	toClient sync.Mutex
	holding  bool
	pending  []byte
}

// NewRelay relays connections to the PostgreSQL server of cfg, and makes cfg dial it.
func NewRelay(t testing.TB, cfg *pgconn.Config) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{ln: ln, target: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))}
	cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", r.ln.Addr().String())
	}
	go r.accept()
	t.Cleanup(r.close)
	return r
}

// Addr is the relay's address (host:port), for a client that is not given cfg.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

func (r *Relay) accept() {
	for {
		client, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.relay(client)
	}
}

// cancelRequestCode is the protocol code of a CancelRequest, the first message of the
// connection pgx opens to cancel a query.
const cancelRequestCode = 80877102

// relay connects client to PostgreSQL, except a cancel request, which it drops.
func (r *Relay) relay(client net.Conn) {
	var head [8]byte
	if _, err := io.ReadFull(client, head[:]); err != nil || binary.BigEndian.Uint32(head[4:]) == cancelRequestCode {
		client.Close()
		return
	}
	server, err := net.Dial("tcp", r.target)
	if err != nil {
		client.Close()
		return
	}
	if _, err := server.Write(head[:]); err != nil {
		client.Close()
		server.Close()
		return
	}
	c := &relayedConn{relay: r, client: client, server: server}
	c.muted.Store(r.hung.Load())
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
	go c.pumpToClient()
	go c.pumpToServer()
}

// pumpToClient copies PostgreSQL's answers to the client until either side fails, dropping
// them while muted and keeping them while held.
func (c *relayedConn) pumpToClient() {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.server.Read(buf)
		if marker := c.relay.cutAfter.Load(); n > 0 && marker != nil && bytes.Contains(buf[:n], *marker) {
			c.armed.Store(true)
		}
		if n > 0 && !c.muted.Load() {
			c.toClient.Lock()
			var werr error
			if c.holding {
				c.pending = append(c.pending, buf[:n]...)
			} else {
				_, werr = c.client.Write(buf[:n])
			}
			c.toClient.Unlock()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pumpToServer copies what the client sends to PostgreSQL until either side fails, dropping it
// once cut. It never closes PostgreSQL's side.
func (c *relayedConn) pumpToServer() {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.client.Read(buf)
		if n > 0 && c.armed.Load() && !c.cut.Load() {
			c.cut.Store(true)
			c.client.Close()
		}
		if n > 0 && !c.cut.Load() {
			if _, werr := c.server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// HoldAll holds every connection open now: their clients get nothing more from PostgreSQL
// until Release.
func (r *Relay) HoldAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.toClient.Lock()
		c.holding = true
		c.toClient.Unlock()
	}
}

// Release sends each held connection's client all that was held back, in one write, and lets
// what follows through.
func (r *Relay) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.toClient.Lock()
		if len(c.pending) > 0 {
			_, _ = c.client.Write(c.pending)
		}
		c.holding, c.pending = false, nil
		c.toClient.Unlock()
	}
}

// MuteAll mutes every connection open now: their clients get nothing more from PostgreSQL.
func (r *Relay) MuteAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.muted.Store(true)
	}
}

// Hang makes the server stop answering, as a database that accepts connections and never
// answers: every connection open now and every new one is muted (a new one gets no answer to
// its start-up message).
func (r *Relay) Hang() {
	r.hung.Store(true)
	r.MuteAll()
}

// CutAfter cuts each connection, open now or new, at the first message its client sends after
// an answer holding text came from PostgreSQL (a link that breaks right after an error, say):
// that message never reaches PostgreSQL.
func (r *Relay) CutAfter(text string) {
	b := []byte(text)
	r.cutAfter.Store(&b)
}

// Recover lets new connections through again; those muted stay muted (their clients give
// them up).
func (r *Relay) Recover() { r.hung.Store(false) }

// CutMuted closes the client side of every muted connection, forwarding nothing more of it.
func (r *Relay) CutMuted() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		if c.muted.Load() {
			c.cut.Store(true)
			c.client.Close()
		}
	}
}

func (r *Relay) close() {
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.client.Close()
		c.server.Close()
	}
}

// RelayedDB is a new database (NewDBURL) reached through a Relay: URL is the database's own,
// Pool dials it through the relay, and ViaRelay is the URL through the relay (for a process
// that is not given the pool's configuration).
type RelayedDB struct {
	URL      string
	ViaRelay string
	Pool     *pgxpool.Pool
	Relay    *Relay
}

// NewRelayedDB makes a RelayedDB whose pool holds at most maxConns connections (0: pgx's
// default); the pool is closed when the test ends.
func NewRelayedDB(t testing.TB, maxConns int32) RelayedDB {
	t.Helper()
	d := RelayedDB{URL: NewDBURL(t)}
	cfg, err := pgxpool.ParseConfig(d.URL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	d.Relay = NewRelay(t, &cfg.ConnConfig.Config)
	via, err := url.Parse(d.URL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	via.Host = d.Relay.Addr()
	d.ViaRelay = via.String()
	if d.Pool, err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(d.Pool.Close)
	return d
}
