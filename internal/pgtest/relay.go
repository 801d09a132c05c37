package pgtest

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Relay is a TCP relay in front of PostgreSQL, so that a test can hold back or drop what
// PostgreSQL answers, and break the client's side of a connection while PostgreSQL's side, and
// the backend on it, lives on. Connections pass through untouched until the test says
// otherwise:
//   - a held connection forwards nothing from PostgreSQL to the client until Release, and then
//     what it held back;
//   - a muted connection forwards nothing from PostgreSQL to the client, ever;
//   - a cut connection has its client side closed and forwards nothing more to PostgreSQL (not
//     even the client's Terminate message); its server side is kept open until the test ends.
//
// It drops every cancel request: lost, as one can be on its way (it travels on a connection of
// its own; pgx sends one whenever a connection fails), so that a test decides alone what the
// backend is doing when the client's side breaks.
type Relay struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	conns   []*relayedConn
	release chan struct{} // closed by Release; replaced by HoldAll
}

type relayedConn struct {
	client, server net.Conn
	muted, cut     atomic.Bool
	held           atomic.Pointer[chan struct{}]
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
	c := &relayedConn{client: client, server: server}
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
	go c.pump(server, client, &c.muted, &c.held)
	go c.pump(client, server, &c.cut, nil)
}

// pump copies from src to dst until src fails, dropping what it reads while drop is set and
// waiting, before it forwards, for a hold to be released. It never closes dst: a cut client
// leaves PostgreSQL's side open.
func (c *relayedConn) pump(src, dst net.Conn, drop *atomic.Bool, held *atomic.Pointer[chan struct{}]) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if held != nil {
			if release := held.Load(); release != nil {
				<-*release
			}
		}
		if n > 0 && !drop.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
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
	release := make(chan struct{})
	r.release = release
	for _, c := range r.conns {
		c.held.Store(&release)
	}
}

// Release forwards what the held connections held back, and all that follows.
func (r *Relay) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.held.Store(nil)
	}
	if r.release != nil {
		close(r.release)
		r.release = nil
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
	r.Release()
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.client.Close()
		c.server.Close()
	}
}
