// Package credential verifies Passport stamps (W3C credentials with an
// EthereumEip712Signature2021 proof) the way didkit does for did:ethr issuers, and applies the
// scorer's own checks around that signature (trusted issuer, expiry, subject, fields).
package credential

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the JSON type of a Value.
type Kind uint8

// JSON kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

// Value is a parsed JSON value. Objects keep their members in document order.
type Value struct {
	Kind    Kind
	Str     string // String: the decoded text; Number: the literal; Bool: "true" or "false"
	Items   []Value
	Members []Member
}

// Member is one key of an object.
type Member struct {
	Key   string
	Value Value
}

// Get returns the member named key of an object, or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Object {
		return nil
	}
	for i := range v.Members {
		if v.Members[i].Key == key {
			return &v.Members[i].Value
		}
	}
	return nil
}

// Truthy mirrors Python's bool() of the value json.loads would give.
func (v *Value) Truthy() bool {
	if v == nil {
		return false
	}
	switch v.Kind {
	case Bool:
		return v.Str == "true"
	case Number:
		f, _ := strconv.ParseFloat(v.Str, 64)
		return f != 0
	case String:
		return v.Str != ""
	case Array:
		return len(v.Items) > 0
	case Object:
		return len(v.Members) > 0
	}
	return false
}

const maxDepth = 64

// ParseJSON parses one JSON document strictly: duplicate keys, invalid UTF-8, lone surrogate
// escapes and trailing data are refused (serde, which didkit uses, refuses them too, while
// encoding/json silently accepts them).
func ParseJSON(data []byte) (Value, error) {
	return parse(data, nil)
}

// parse parses data, with the containers' members and items in slab, or in a slice of
// their own each when slab is nil.
func parse(data []byte, slab *nodeSlab) (Value, error) {
	st := stacks.Get().(*parseStacks)
	defer st.release()
	p := parser{data: data, text: string(data), members: st.members[:0], items: st.items[:0], slab: slab}
	defer func() { st.members, st.items = p.members, p.items }() // keep what grew
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return Value{}, p.errorf("trailing data")
	}
	return v, nil
}

// parseStacks are a parser's member and item stacks, reused across documents: a parse then
// allocates only the values it returns.
type parseStacks struct {
	members []Member
	items   []Value
}

var stacks = sync.Pool{New: func() any { return &parseStacks{members: make([]Member, 0, 32), items: make([]Value, 0, 16)} }}

// maxPooledStack is the largest stack kept for reuse: an unusually large document's stacks
// are left to the collector rather than cleared on every later parse.
const maxPooledStack = 1024

// release clears the stacks (they must not keep a document alive) and returns them to the pool.
func (st *parseStacks) release() {
	if cap(st.members) > maxPooledStack || cap(st.items) > maxPooledStack {
		return
	}
	clear(st.members[:cap(st.members)])
	clear(st.items[:cap(st.items)])
	stacks.Put(st)
}

// parser reads data; unescaped strings and numbers are substrings of text, a single copy of
// the document, and the members and items of open containers wait on two shared stacks, so
// that each container gets one exactly-sized slice.
type parser struct {
	data    []byte
	text    string
	pos     int
	members []Member
	items   []Value
	slab    *nodeSlab // nil: each container gets a slice of its own
}

// closedMembers are the members of the object that closes, from the stack's mark on.
func (p *parser) closedMembers(mark int) []Member {
	if p.slab == nil {
		return append([]Member(nil), p.members[mark:]...)
	}
	return p.slab.members.take(p.members[mark:])
}

// closedItems are the items of the array that closes, from the stack's mark on.
func (p *parser) closedItems(mark int) []Value {
	if p.slab == nil {
		return append([]Value(nil), p.items[mark:]...)
	}
	return p.slab.items.take(p.items[mark:])
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("json at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, p.errorf("nesting too deep")
	}
	if p.pos >= len(p.data) {
		return Value{}, p.errorf("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.string()
		return Value{Kind: String, Str: s}, err
	case c == 't':
		return p.literal("true", Value{Kind: Bool, Str: "true"})
	case c == 'f':
		return p.literal("false", Value{Kind: Bool, Str: "false"})
	case c == 'n':
		return p.literal("null", Value{Kind: Null})
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return Value{}, p.errorf("unexpected character %q", c)
	}
}

func (p *parser) literal(word string, v Value) (Value, error) {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return Value{}, p.errorf("invalid literal")
	}
	p.pos += len(word)
	return v, nil
}

func (p *parser) object(depth int) (Value, error) {
	p.pos++ // {
	v := Value{Kind: Object}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	mark := len(p.members)
	defer func() { p.members = p.members[:mark] }()
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return Value{}, p.errorf("expected object key")
		}
		key, err := p.string()
		if err != nil {
			return Value{}, err
		}
		for _, m := range p.members[mark:] {
			if m.Key == key {
				return Value{}, p.errorf("duplicate key %q", key)
			}
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return Value{}, p.errorf("expected ':'")
		}
		p.pos++
		p.skipSpace()
		item, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		p.members = append(p.members, Member{Key: key, Value: item})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return Value{}, p.errorf("unexpected end in object")
		}
		if p.data[p.pos] == '}' {
			p.pos++
			v.Members = p.closedMembers(mark)
			return v, nil
		}
		if p.data[p.pos] != ',' {
			return Value{}, p.errorf("expected ',' or '}'")
		}
		p.pos++
	}
}

func (p *parser) array(depth int) (Value, error) {
	p.pos++ // [
	v := Value{Kind: Array}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	mark := len(p.items)
	defer func() { p.items = p.items[:mark] }()
	for {
		p.skipSpace()
		item, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		p.items = append(p.items, item)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return Value{}, p.errorf("unexpected end in array")
		}
		if p.data[p.pos] == ']' {
			p.pos++
			v.Items = p.closedItems(mark)
			return v, nil
		}
		if p.data[p.pos] != ',' {
			return Value{}, p.errorf("expected ',' or ']'")
		}
		p.pos++
	}
}

func (p *parser) number() (Value, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if !p.digits() {
		return Value{}, p.errorf("invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if !p.digits() {
			return Value{}, p.errorf("invalid number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if !p.digits() {
			return Value{}, p.errorf("invalid number")
		}
	}
	return Value{Kind: Number, Str: p.text[start:p.pos]}, nil
}

func (p *parser) digits() bool {
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos > start
}

var errBadEscape = errors.New("invalid escape")

func (p *parser) string() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := p.text[start:p.pos]
			if !utf8.ValidString(s) {
				return "", p.errorf("invalid UTF-8")
			}
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.errorf("control character in string")
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				return "", p.errorf("invalid UTF-8")
			}
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(p.data) {
			break
		}
		e := p.data[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				if r >= 0xdc00 || p.pos+6 > len(p.data) || p.data[p.pos] != '\\' || p.data[p.pos+1] != 'u' {
					return "", p.errorf("lone surrogate")
				}
				p.pos += 2
				r2, err := p.hex4()
				if err != nil {
					return "", err
				}
				r = utf16.DecodeRune(r, r2)
				if r == utf8.RuneError {
					return "", p.errorf("lone surrogate")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("%v", errBadEscape)
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *parser) hex4() (rune, error) {
	if p.pos+4 > len(p.data) {
		return 0, p.errorf("%v", errBadEscape)
	}
	v, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, p.errorf("%v", errBadEscape)
	}
	p.pos += 4
	return rune(v), nil
}
