package credential

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/sha3"
)

// typedField is one member of an EIP-712 struct type.
type typedField struct{ Name, Type string }

// typeSet is the EIP-712 type table carried in proof.eip712Domain.types. Type names are
// arbitrary strings, as in ssi: Passport uses a struct named "@context".
type typeSet map[string][]typedField

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

func keccak(parts ...[]byte) []byte {
	h := sha3.NewLegacyKeccak256()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
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
func (ts typeSet) hashStruct(name string, data *Value) ([]byte, error) {
	if data.Kind != Object {
		return nil, fmt.Errorf("eip712: %s must be an object", name)
	}
	fields := ts[name]
	for _, m := range data.Members {
		found := false
		for _, f := range fields {
			if f.Name == m.Key {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("eip712: untyped property %q in %s", m.Key, name)
		}
	}
	enc, err := ts.encodeType(name)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 32*(len(fields)+1))
	buf = append(buf, keccak([]byte(enc))...)
	for _, f := range fields {
		v := data.Get(f.Name)
		if v == nil {
			buf = append(buf, make([]byte, 32)...)
			continue
		}
		word, err := ts.encodeField(f.Type, v)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", name, f.Name, err)
		}
		buf = append(buf, word...)
	}
	return keccak(buf), nil
}

func (ts typeSet) encodeField(typ string, v *Value) ([]byte, error) {
	if v.Kind == Null {
		return nil, fmt.Errorf("eip712: null value")
	}
	if strings.HasSuffix(typ, "]") {
		open := strings.LastIndexByte(typ, '[')
		if v.Kind != Array {
			return nil, fmt.Errorf("eip712: expected array for %s", typ)
		}
		if n := typ[open+1 : len(typ)-1]; n != "" {
			if want, err := strconv.Atoi(n); err != nil || want != len(v.Items) {
				return nil, fmt.Errorf("eip712: array length mismatch for %s", typ)
			}
		}
		buf := make([]byte, 0, 32*len(v.Items))
		for i := range v.Items {
			word, err := ts.encodeField(typ[:open], &v.Items[i])
			if err != nil {
				return nil, err
			}
			buf = append(buf, word...)
		}
		return keccak(buf), nil
	}
	switch {
	case typ == "string":
		if v.Kind != String {
			return nil, fmt.Errorf("eip712: expected string")
		}
		return keccak([]byte(v.Str)), nil
	case typ == "bytes":
		b, err := hexBytes(v)
		if err != nil {
			return nil, err
		}
		return keccak(b), nil
	case typ == "bool":
		if v.Kind != Bool {
			return nil, fmt.Errorf("eip712: expected bool")
		}
		word := make([]byte, 32)
		if v.Str == "true" {
			word[31] = 1
		}
		return word, nil
	case typ == "address":
		b, err := hexBytes(v)
		if err != nil || len(b) != 20 {
			return nil, fmt.Errorf("eip712: bad address")
		}
		return append(make([]byte, 12), b...), nil
	case strings.HasPrefix(typ, "uint") || strings.HasPrefix(typ, "int"):
		if v.Kind != Number {
			return nil, fmt.Errorf("eip712: expected number")
		}
		n, err := strconv.ParseInt(v.Str, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("eip712: number out of range")
		}
		word := make([]byte, 32)
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
			return nil, fmt.Errorf("eip712: bad %s", typ)
		}
		word := make([]byte, 32)
		copy(word, b)
		return word, nil
	}
	if _, ok := ts[typ]; !ok {
		return nil, fmt.Errorf("eip712: unknown type %q", typ)
	}
	return ts.hashStruct(typ, v)
}

func hexBytes(v *Value) ([]byte, error) {
	if v.Kind != String || !strings.HasPrefix(v.Str, "0x") {
		return nil, fmt.Errorf("eip712: expected 0x-hex string")
	}
	return hex.DecodeString(v.Str[2:])
}

// digest is keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(primaryType, message)).
func (ts typeSet) digest(domain *Value, primaryType string, message *Value) ([]byte, error) {
	ds, err := ts.hashStruct("EIP712Domain", domain)
	if err != nil {
		return nil, fmt.Errorf("domain: %w", err)
	}
	msg, err := ts.hashStruct(primaryType, message)
	if err != nil {
		return nil, err
	}
	return keccak([]byte{0x19, 0x01}, ds, msg), nil
}

var secpN, _ = new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
var secpHalfN = new(big.Int).Rsh(secpN, 1)
