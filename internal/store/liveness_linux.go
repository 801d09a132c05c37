//go:build linux

package store

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// errUnsolicited is idleConnGone's verdict on a connection the server sent bytes on unasked.
var errUnsolicited = errors.New("the server sent something unasked on an idle connection (a FATAL notice before closing it)")

// idleConnGone tells, without blocking and without consuming anything, whether the server
// closed an idle connection (a crash, a restart, pg_terminate_backend) or sent it something
// between two round trips, which PostgreSQL does only as it ends the session. A pooled
// connection is pinged only after a second idle, so a write sent to a closed one would fail
// with its outcome unknown; checked first, the failure is known to precede it. nil when the
// connection looks alive or cannot be looked at (not a socket).
func idleConnGone(c net.Conn) error {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn() // a pending TLS record is as unasked as a plain message
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var n int
	var peekErr error
	var one [1]byte
	// Control, not Read: Read takes the descriptor's read lock, which pgx's background reader
	// may hold in a read that waits for the server (it can outlive the operation that started
	// it), and the look would then wait for bytes the idle connection never gets.
	if err := raw.Control(func(fd uintptr) {
		n, _, peekErr = syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	}); err != nil {
		return fmt.Errorf("look at the connection: %w", err)
	}
	switch {
	case errors.Is(peekErr, syscall.EAGAIN) || errors.Is(peekErr, syscall.EWOULDBLOCK) || errors.Is(peekErr, syscall.EINTR):
		return nil
	case peekErr != nil:
		return peekErr
	case n == 0:
		return io.EOF
	}
	return errUnsolicited
}
