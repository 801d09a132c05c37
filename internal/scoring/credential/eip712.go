package credential

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strconv"
	"strings"
	"sync"

	keccakpkg "github.com/ethereum/go-ethereum/crypto/keccak"
)

// typedField is one member of an EIP-712 struct type.
type typedField struct{ Name, Type string }

// typeSet is the EIP-712 type table carried in proof.eip712Domain.types. Type names are
// arbitrary strings, as in ssi: Passport uses a struct named "@context".
type typeSet map[string][]typedField

// typeTable is a type table with each struct type's typeHash, keccak256(encodeType(name)), or
// the error encodeType gives for it.
type typeTable struct {
	types  typeSet
	hashes map[string]typeHash
}

type typeHash struct {
	sum [32]byte
	err error
}

func parseTypes(v *Value) (typeSet, error) {
	if v == nil {
		return nil, fmt.Errorf("eip712: missing types")
	}
	if v.Kind == String {
		return nil, fmt.Errorf("eip712: remote loading of types not implemented")
	}
	if v.Kind != Object {
		return nil, fmt.Errorf("eip712: types must be an object")
	}
	ts := typeSet{}
	for _, m := range v.Members {
		if m.Value.Kind != Array {
			return nil, fmt.Errorf("eip712: type %q must be an array", m.Key)
		}
		fields := make([]typedField, 0, len(m.Value.Items))
		for _, it := range m.Value.Items {
			name, typ := it.Get("name"), it.Get("type")
			if it.Kind != Object || len(it.Members) != 2 || name == nil || typ == nil || name.Kind != String || typ.Kind != String {
				return nil, fmt.Errorf("eip712: malformed member of type %q", m.Key)
			}
			fields = append(fields, typedField{Name: name.Str, Type: typ.Str})
		}
		ts[m.Key] = fields
	}
	if _, ok := ts["EIP712Domain"]; !ok {
		ts["EIP712Domain"] = []typedField{{Name: "name", Type: "string"}}
	}
	return ts, nil
}

// newTypeTable parses a type table and hashes each of its types.
func newTypeTable(v *Value) (*typeTable, error) {
	ts, err := parseTypes(v)
	if err != nil {
		return nil, err
	}
	t := &typeTable{types: ts, hashes: make(map[string]typeHash, len(ts))}
	for name := range ts {
		enc, err := ts.encodeType(name)
		if err != nil {
			t.hashes[name] = typeHash{err: err}
			continue
		}
		t.hashes[name] = typeHash{sum: keccak([]byte(enc))}
	}
	return t, nil
}

// typeTables keeps the type tables seen, by their exact content (typeTableKey): every Passport
// stamp carries the same one, so parsing it and hashing its types is done once. At most
// maxTypeTables are kept; further tables are built for each credential.
var typeTables = struct {
	sync.RWMutex
	m map[string]*typeTable
}{m: map[string]*typeTable{}}

const maxTypeTables = 64

// lookupTypeTable returns the table of types, from typeTables when its content was seen.
func lookupTypeTable(v *Value, scratch []byte) (*typeTable, []byte, error) {
	key, ok := typeTableKey(v, scratch[:0])
	if !ok {
		_, err := newTypeTable(v) // malformed: newTypeTable says how
		return nil, key, err
	}
	typeTables.RLock()
	t := typeTables.m[string(key)]
	typeTables.RUnlock()
	if t != nil {
		return t, key, nil
	}
	t, err := newTypeTable(v)
	if err != nil {
		return nil, key, err
	}
	typeTables.Lock()
	if len(typeTables.m) < maxTypeTables {
		typeTables.m[string(key)] = t
	}
	typeTables.Unlock()
	return t, key, nil
}

// typeTableKey appends an unambiguous encoding of a well-formed type table (every name and
// field length-prefixed, in document order) to buf; ok is false when parseTypes would refuse it.
func typeTableKey(v *Value, buf []byte) ([]byte, bool) {
	if v == nil || v.Kind != Object {
		return buf, false
	}
	for _, m := range v.Members {
		if m.Value.Kind != Array {
			return buf, false
		}
		buf = appendString(buf, m.Key)
		buf = binary.AppendUvarint(buf, uint64(len(m.Value.Items)))
		for i := range m.Value.Items {
			it := &m.Value.Items[i]
			name, typ := it.Get("name"), it.Get("type")
			if it.Kind != Object || len(it.Members) != 2 || name == nil || typ == nil || name.Kind != String || typ.Kind != String {
				return buf, false
			}
			buf = appendString(appendString(buf, name.Str), typ.Str)
		}
	}
	return buf, true
}

func appendString(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}

// keccak is keccak256 of the parts concatenated.
func keccak(parts ...[]byte) [32]byte {
	h := keccakHashers.Get().(*keccakHasher)
	defer keccakHashers.Put(h)
	h.state.Reset()
	for _, p := range parts {
		h.state.Write(p)
	}
	h.state.Read(h.out[:])
	return h.out
}

// keccakHasher is a Keccak-256 state and the output it is read into, which lives beside it
// because what the state's interface methods are given escapes.
type keccakHasher struct {
	state keccakState
	out   [32]byte
}

// keccakHashers are keccak's reusable hashers.
var keccakHashers = sync.Pool{New: func() any {
	return &keccakHasher{state: keccakpkg.NewLegacyKeccak256().(keccakState)}
}}

// keccakState is a Keccak-256 state that can be read without copying (go-ethereum's).
type keccakState interface {
	hash.Hash
	Read([]byte) (int, error)
}

// encoder computes one EIP-712 digest. It reuses one Keccak state and a buffer per nesting
// depth (a struct's words are hashed once all are known, while its members' own hashes are
// computed one depth below), so the digest allocates nothing once the buffers have grown.
type encoder struct {
	table *typeTable
	state keccakState
	out   [32]byte
	bufs  [][]byte // by depth
	key   []byte   // scratch for typeTableKey
	// The message signingInput rebuilds: its members, its proof's and its dates' text.
	msg, proof []Member
	dates      []byte
}

var encoders = sync.Pool{New: func() any {
	return &encoder{state: keccakpkg.NewLegacyKeccak256().(keccakState)}
}}

// maxPooledBuffer is the largest buffer an encoder keeps for reuse.
const maxPooledBuffer = 1 << 14

func (e *encoder) release() {
	e.table = nil
	for i, b := range e.bufs {
		if cap(b) > maxPooledBuffer {
			e.bufs[i] = nil
		}
	}
	if cap(e.key) > maxPooledBuffer {
		e.key = nil
	}
	e.msg, e.proof = releaseMembers(e.msg), releaseMembers(e.proof)
	encoders.Put(e)
}

// maxPooledMembers is the largest member list an encoder keeps for reuse.
const maxPooledMembers = 64

// releaseMembers is members emptied for reuse (cleared: they must not keep a document alive),
// or nil when it is too large to keep.
func releaseMembers(members []Member) []Member {
	if cap(members) > maxPooledMembers {
		return nil
	}
	clear(members)
	return members[:0]
}

// buf returns the empty buffer of depth.
func (e *encoder) buf(depth int) []byte {
	for len(e.bufs) <= depth {
		e.bufs = append(e.bufs, nil)
	}
	return e.bufs[depth][:0]
}

// sum hashes b, the buffer of depth (kept for reuse), through the memo when b is short.
func (e *encoder) sum(depth int, b []byte) [32]byte {
	e.bufs[depth] = b
	if len(b) > memoMaxInput {
		return e.hash(b)
	}
	ka, kb := memo.key(b)
	if sum, ok := memo.load(ka, kb); ok {
		return sum
	}
	sum := e.hash(b)
	memo.store(ka, kb, &sum)
	return sum
}

// hash is keccak256(b), with the encoder's state.
func (e *encoder) hash(b []byte) [32]byte {
	e.state.Reset()
	e.state.Write(b)
	e.state.Read(e.out[:])
	return e.out
}

// baseType strips array suffixes: "string[]" → "string", "Foo[3][]" → "Foo".
func baseType(t string) string {
	if i := strings.IndexByte(t, '['); i >= 0 {
		return t[:i]
	}
	return t
}

// encodeType returns primary's EIP-712 type string with referenced struct types appended in
// byte-wise name order.
func (ts typeSet) encodeType(primary string) (string, error) {
	deps := map[string]bool{}
	if err := ts.collect(primary, deps); err != nil {
		return "", err
	}
	delete(deps, primary)
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range append([]string{primary}, names...) {
		b.WriteString(n)
		b.WriteByte('(')
		for i, f := range ts[n] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.Type)
			b.WriteByte(' ')
			b.WriteString(f.Name)
		}
		b.WriteByte(')')
	}
	return b.String(), nil
}

func (ts typeSet) collect(name string, seen map[string]bool) error {
	if seen[name] {
		return nil
	}
	fields, ok := ts[name]
	if !ok {
		return fmt.Errorf("eip712: unknown type %q", name)
	}
	seen[name] = true
	for _, f := range fields {
		if b := baseType(f.Type); !isAtomic(b) {
			if err := ts.collect(b, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

func isAtomic(t string) bool {
	switch {
	case t == "string", t == "bytes", t == "bool", t == "address":
		return true
	case strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "int"):
		_, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(t, "u"), "int"))
		return err == nil
	case strings.HasPrefix(t, "bytes"):
		_, err := strconv.Atoi(t[5:])
		return err == nil
	}
	return false
}

// hashStruct is keccak256(typeHash ‖ encodeData) with ssi's rules: an absent member encodes as
// 32 zero bytes, a data key without a member is an error.
func (e *encoder) hashStruct(name string, data *Value, depth int) ([32]byte, error) {
	if data.Kind != Object {
		return [32]byte{}, fmt.Errorf("eip712: %s must be an object", name)
	}
	fields := e.table.types[name]
	for _, m := range data.Members {
		found := false
		for _, f := range fields {
			if f.Name == m.Key {
				found = true
				break
			}
		}
		if !found {
			return [32]byte{}, fmt.Errorf("eip712: untyped property %q in %s", m.Key, name)
		}
	}
	th, ok := e.table.hashes[name]
	if !ok {
		return [32]byte{}, fmt.Errorf("eip712: unknown type %q", name)
	}
	if th.err != nil {
		return [32]byte{}, th.err
	}
	buf := append(e.buf(depth), th.sum[:]...)
	for _, f := range fields {
		v := data.Get(f.Name)
		if v == nil {
			buf = append(buf, make([]byte, 32)...)
			continue
		}
		e.bufs[depth] = buf // encodeField works one depth below, but may grow e.bufs
		word, err := e.encodeField(f.Type, v, depth+1)
		if err != nil {
			return [32]byte{}, fmt.Errorf("%s.%s: %w", name, f.Name, err)
		}
		buf = append(e.bufs[depth], word[:]...)
	}
	return e.sum(depth, buf), nil
}

// encodeField is a member's 32-byte word; hashes it needs use the buffer of depth.
func (e *encoder) encodeField(typ string, v *Value, depth int) ([32]byte, error) {
	var word [32]byte
	if v.Kind == Null {
		return word, fmt.Errorf("eip712: null value")
	}
	if strings.HasSuffix(typ, "]") {
		open := strings.LastIndexByte(typ, '[')
		if v.Kind != Array {
			return word, fmt.Errorf("eip712: expected array for %s", typ)
		}
		if n := typ[open+1 : len(typ)-1]; n != "" {
			if want, err := strconv.Atoi(n); err != nil || want != len(v.Items) {
				return word, fmt.Errorf("eip712: array length mismatch for %s", typ)
			}
		}
		buf := e.buf(depth)
		for i := range v.Items {
			e.bufs[depth] = buf
			item, err := e.encodeField(typ[:open], &v.Items[i], depth+1)
			if err != nil {
				return word, err
			}
			buf = append(e.bufs[depth], item[:]...)
		}
		return e.sum(depth, buf), nil
	}
	switch {
	case typ == "string":
		if v.Kind != String {
			return word, fmt.Errorf("eip712: expected string")
		}
		return e.sum(depth, append(e.buf(depth), v.Str...)), nil
	case typ == "bytes":
		b, err := hexBytes(v)
		if err != nil {
			return word, err
		}
		return e.sum(depth, append(e.buf(depth), b...)), nil
	case typ == "bool":
		if v.Kind != Bool {
			return word, fmt.Errorf("eip712: expected bool")
		}
		if v.Str == "true" {
			word[31] = 1
		}
		return word, nil
	case typ == "address":
		b, err := hexBytes(v)
		if err != nil || len(b) != 20 {
			return word, fmt.Errorf("eip712: bad address")
		}
		copy(word[12:], b)
		return word, nil
	case strings.HasPrefix(typ, "uint") || strings.HasPrefix(typ, "int"):
		if v.Kind != Number {
			return word, fmt.Errorf("eip712: expected number")
		}
		n, err := strconv.ParseInt(v.Str, 10, 64)
		if err != nil {
			return word, fmt.Errorf("eip712: number out of range")
		}
		if n < 0 {
			for i := range word[:24] {
				word[i] = 0xff
			}
		}
		binary.BigEndian.PutUint64(word[24:], uint64(n))
		return word, nil
	case strings.HasPrefix(typ, "bytes"):
		b, err := hexBytes(v)
		if err != nil || len(b) > 32 {
			return word, fmt.Errorf("eip712: bad %s", typ)
		}
		copy(word[:], b)
		return word, nil
	}
	if _, ok := e.table.types[typ]; !ok {
		return word, fmt.Errorf("eip712: unknown type %q", typ)
	}
	return e.hashStruct(typ, v, depth)
}

func hexBytes(v *Value) ([]byte, error) {
	if v.Kind != String || !strings.HasPrefix(v.Str, "0x") {
		return nil, fmt.Errorf("eip712: expected 0x-hex string")
	}
	return hex.DecodeString(v.Str[2:])
}

// digest is keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(primaryType, message)).
func (e *encoder) digest(domain *Value, primaryType string, message *Value) ([]byte, error) {
	ds, err := e.hashStruct("EIP712Domain", domain, 0)
	if err != nil {
		return nil, fmt.Errorf("domain: %w", err)
	}
	msg, err := e.hashStruct(primaryType, message, 0)
	if err != nil {
		return nil, err
	}
	e.bufs[0] = append(append(append(e.buf(0), 0x19, 0x01), ds[:]...), msg[:]...)
	digest := e.hash(e.bufs[0]) // the credential's own: not remembered
	return digest[:], nil
}
