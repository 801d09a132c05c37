package bench

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// scorerPackage is the Go scorer's package: "Go CPU per request (scorer functions only)"
// counts the CPU samples whose stack holds a function of it or of a package below it.
const scorerPackage = "shadowproxy/internal/scoring"

// CPUUnder reads a CPU profile (pprof's gzipped protobuf, as /debug/pprof/profile serves it)
// and returns the CPU time of the samples whose stack holds a function of package pkg or of a
// package below it (inlined frames included), and the CPU time of all samples.
func CPUUnder(path, pkg string) (under, total time.Duration, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read profile: %w", err)
	}
	p, err := decodeProfile(raw)
	if err != nil {
		return 0, 0, fmt.Errorf("profile %s: %w", path, err)
	}
	cpu := -1
	for i, t := range p.sampleTypes {
		if p.str(t) == "cpu" {
			cpu = i
		}
	}
	if cpu < 0 {
		return 0, 0, fmt.Errorf("profile %s: not a CPU profile", path)
	}
	inPkg := func(name string) bool {
		return strings.HasPrefix(name, pkg+".") || strings.HasPrefix(name, pkg+"/")
	}
	locIn := map[uint64]bool{}
	for id, fns := range p.locations {
		for _, fn := range fns {
			if inPkg(p.str(p.functions[fn])) {
				locIn[id] = true
			}
		}
	}
	for _, s := range p.samples {
		if cpu >= len(s.values) {
			continue
		}
		v := time.Duration(s.values[cpu])
		total += v
		for _, loc := range s.locations {
			if locIn[loc] {
				under += v
				break
			}
		}
	}
	return under, total, nil
}

// profile is the part of pprof's profile.proto CPUUnder reads.
type profile struct {
	sampleTypes []int64 // ValueType.type, string indices
	samples     []sample
	locations   map[uint64][]uint64 // location id → function ids of its lines
	functions   map[uint64]int64    // function id → name, a string index
	strings     []string
}

type sample struct {
	locations []uint64
	values    []int64
}

func (p *profile) str(i int64) string {
	if i < 0 || int(i) >= len(p.strings) {
		return ""
	}
	return p.strings[i]
}

// Field numbers of profile.proto.
const (
	profileSampleType  = 1
	profileSample      = 2
	profileLocation    = 4
	profileFunction    = 5
	profileStringTable = 6
	sampleLocationID   = 1
	sampleValue        = 2
	locationID         = 1
	locationLine       = 4
	lineFunctionID     = 1
	functionID         = 1
	functionName       = 2
	valueTypeType      = 1
)

func decodeProfile(raw []byte) (*profile, error) {
	if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	p := &profile{locations: map[uint64][]uint64{}, functions: map[uint64]int64{}}
	err := eachField(raw, func(num protowire.Number, v uint64, b []byte) error {
		switch num {
		case profileSampleType:
			return eachField(b, func(num protowire.Number, v uint64, _ []byte) error {
				if num == valueTypeType {
					p.sampleTypes = append(p.sampleTypes, int64(v))
				}
				return nil
			})
		case profileSample:
			var s sample
			err := eachField(b, func(num protowire.Number, v uint64, packed []byte) error {
				switch num {
				case sampleLocationID:
					return eachVarint(v, packed, func(x uint64) { s.locations = append(s.locations, x) })
				case sampleValue:
					return eachVarint(v, packed, func(x uint64) { s.values = append(s.values, int64(x)) })
				}
				return nil
			})
			p.samples = append(p.samples, s)
			return err
		case profileLocation:
			var id uint64
			var fns []uint64
			err := eachField(b, func(num protowire.Number, v uint64, line []byte) error {
				switch num {
				case locationID:
					id = v
				case locationLine:
					return eachField(line, func(num protowire.Number, v uint64, _ []byte) error {
						if num == lineFunctionID {
							fns = append(fns, v)
						}
						return nil
					})
				}
				return nil
			})
			p.locations[id] = fns
			return err
		case profileFunction:
			var id uint64
			var name int64
			err := eachField(b, func(num protowire.Number, v uint64, _ []byte) error {
				switch num {
				case functionID:
					id = v
				case functionName:
					name = int64(v)
				}
				return nil
			})
			p.functions[id] = name
			return err
		case profileStringTable:
			p.strings = append(p.strings, string(b))
		}
		return nil
	})
	return p, err
}

// eachField calls f with each field of the message in b: its number and either its varint
// value or its length-delimited bytes (fixed-width fields are skipped).
func eachField(b []byte, f func(num protowire.Number, v uint64, bytes []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v uint64
		var field []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			field, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if typ == protowire.VarintType || typ == protowire.BytesType {
			if err := f(num, v, field); err != nil {
				return err
			}
		}
	}
	return nil
}

// eachVarint calls f with a repeated varint field's values: v when it came unpacked, else
// each varint of packed.
func eachVarint(v uint64, packed []byte, f func(uint64)) error {
	if packed == nil {
		f(v)
		return nil
	}
	for len(packed) > 0 {
		x, n := protowire.ConsumeVarint(packed)
		if n < 0 {
			return protowire.ParseError(n)
		}
		f(x)
		packed = packed[n:]
	}
	return nil
}
