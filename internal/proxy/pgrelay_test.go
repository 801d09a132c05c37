package proxy

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// pgRelay is a TCP relay in front of PostgreSQL for one pool, so that a test can break the
// client's side of a connection while PostgreSQL's side, and the backend on it, lives on.
// Connections pass through untouched until muted; a muted connection forwards nothing from
// PostgreSQL to the client (the client waits for results that never come), and a cut one has
// its client side closed and forwards nothing more to PostgreSQL (not even the client's
// Terminate message), its server side kept open until the test ends.
type pgRelay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []*relayedConn
}

type relayedConn struct {
	client, server net.Conn
	muted, cut     atomic.Bool
}

// newPGRelay relays connections to the PostgreSQL server at target (host:port).
func newPGRelay(t *testing.T, target string) *pgRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &pgRelay{ln: ln, target: target}
	go r.accept()
	t.Cleanup(r.close)
	return r
}

// dial is a pgconn DialFunc reaching PostgreSQL through the relay.
func (r *pgRelay) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", r.ln.Addr().String())
}

func (r *pgRelay) accept() {
	for {
		client, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.relay(client)
	}
}

// cancelRequestCode is the protocol code of a CancelRequest, the first message of the
// connection pgx opens to cancel a query (pgconn's asyncClose sends one when a connection fails).
const cancelRequestCode = 80877102

// relay connects client to PostgreSQL, except a cancel request, which it drops: lost, as one
// can be on its way (it travels on a connection of its own), so that a test decides alone what
// the backend is doing when Go's side breaks.
func (r *pgRelay) relay(client net.Conn) {
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
	go c.pump(server, client, &c.muted)
	go c.pump(client, server, &c.cut)
}

// pump copies from src to dst until src fails, dropping what it reads while drop is set. It
// never closes dst: a cut client leaves PostgreSQL's side open.
func (c *relayedConn) pump(src, dst net.Conn, drop *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
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

// muteAll mutes every connection open now: their clients get nothing more from PostgreSQL.
func (r *pgRelay) muteAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.muted.Store(true)
	}
}

// cutMuted closes the client side of every muted connection, forwarding nothing more of it.
func (r *pgRelay) cutMuted() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		if c.muted.Load() {
			c.cut.Store(true)
			c.client.Close()
		}
	}
}

func (r *pgRelay) close() {
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.client.Close()
		c.server.Close()
	}
}
