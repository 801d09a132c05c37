package store

import (
	"bytes"
	"sync"
	"testing"
)

// credentialBlockSize is the size of one pooled block of credential bytes: a 20-stamp
// passport's credentials (about 35 KB) fit in one.
const credentialBlockSize = 64 << 10

// credentialBlocks are the blocks credentialBytes copies a request's credentials into.
var credentialBlocks = sync.Pool{New: func() any {
	b := make([]byte, 0, credentialBlockSize)
	return &b
}}

// poisonReleased makes every test binary overwrite a block when it is returned: a credential
// still referred to after its request released it then reads as junk, and parity tests fail
// instead of passing by luck.
var poisonReleased = testing.Testing()

// credentialBytes keeps copies of one request's credentials (the driver's bytes are valid only
// until the next row) in pooled blocks, each copy capped at its own length so that an append to
// one never writes over the next. The blocks go back to the pool on release; a credential
// larger than a block gets an allocation of its own, left to the collector.
type credentialBytes struct {
	blocks []*[]byte
	cur    []byte
}

// keep returns a copy of b.
func (c *credentialBytes) keep(b []byte) []byte {
	if len(b) > credentialBlockSize {
		return bytes.Clone(b)
	}
	if cap(c.cur)-len(c.cur) < len(b) {
		block := credentialBlocks.Get().(*[]byte)
		c.blocks = append(c.blocks, block)
		c.cur = (*block)[:0]
	}
	var copied []byte
	c.cur, copied = appendCapped(c.cur, b)
	return copied
}

// appendCapped appends b to chunk and returns chunk and the copy of b in it, capped at its own
// length so that an append to the copy never writes over what follows it in chunk.
func appendCapped(chunk, b []byte) (grown, copied []byte) {
	n := len(chunk)
	chunk = append(chunk, b...)
	return chunk, chunk[n:len(chunk):len(chunk)]
}

// releaser is the function that returns the blocks to the pool, nil when none was taken.
func (c *credentialBytes) releaser() func() {
	if len(c.blocks) == 0 {
		return nil
	}
	return c.release
}

// release returns the blocks to the pool; nothing may refer to the copies afterwards.
func (c *credentialBytes) release() {
	for _, block := range c.blocks {
		if poisonReleased {
			full := (*block)[:cap(*block)]
			for i := range full {
				full[i] = '!'
			}
		}
		*block = (*block)[:0]
		credentialBlocks.Put(block)
	}
	c.blocks, c.cur = nil, nil
}
