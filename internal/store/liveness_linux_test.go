//go:build linux

package store

import (
	"io"
	"net"
	"testing"
	"time"
)

// The look at an idle connection never waits, also while another goroutine is blocked reading
// it (pgx's background reader can be): it sees a live connection as alive, then a closed one
// as gone. (It took the descriptor's read lock and waited behind that read for ever: a write
// pipeline, then the pool's Close, then the process's exit hung.)
func TestIdleConnGoneDoesNotWaitBehindAReader(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	reading := make(chan struct{})
	go func() {
		close(reading)
		_, _ = client.Read(make([]byte, 1)) // blocks: the server sends nothing until it closes
	}()
	<-reading
	look := func() error {
		done := make(chan error, 1)
		go func() { done <- idleConnGone(client) }()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second): // a hang guard: the look returns at once, or never
			t.Fatal("the look waited behind the blocked reader")
			return nil
		}
	}
	if err := look(); err != nil {
		t.Fatalf("a live connection: %v", err)
	}
	server.Close()
	// The blocked read may take the end of stream first; the look then still sees it.
	deadline := time.Now().Add(10 * time.Second)
	for err := look(); err != io.EOF; err = look() {
		if time.Now().After(deadline) {
			t.Fatalf("a closed connection: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
