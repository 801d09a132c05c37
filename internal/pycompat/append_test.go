package pycompat

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// floatReprByStrings is FloatRepr as it was written before the append form: the reference the
// append form must match byte for byte.
func floatReprByStrings(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.Replace(mant, ".", "", 1)
	if exp < -4 || exp >= 16 {
		out := digits[:1]
		if len(digits) > 1 {
			out += "." + digits[1:]
		}
		es := strconv.Itoa(abs(exp))
		if len(es) < 2 {
			es = "0" + es
		}
		if exp < 0 {
			return sign + out + "e-" + es
		}
		return sign + out + "e+" + es
	}
	point := exp + 1
	switch {
	case point <= 0:
		return sign + "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		return sign + digits + strings.Repeat("0", point-len(digits)) + ".0"
	default:
		return sign + digits[:point] + "." + digits[point:]
	}
}

// isoFormatByFmt is ISOFormat as it was written with fmt, the reference for the append form.
func isoFormatByFmt(d DateTime) string {
	t := d.Time
	var b strings.Builder
	fmt.Fprintf(&b, "%04d-%02d-%02dT%02d:%02d:%02d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
	if us := t.Nanosecond() / 1000; us != 0 {
		fmt.Fprintf(&b, ".%06d", us)
	}
	if d.Aware {
		_, off := t.Zone()
		sign := '+'
		if off < 0 {
			sign, off = '-', -off
		}
		fmt.Fprintf(&b, "%c%02d:%02d", sign, off/3600, off/60%60)
		if off%60 != 0 {
			fmt.Fprintf(&b, ":%02d", off%60)
		}
	}
	return b.String()
}

func TestFloatReprMatchesStringForm(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 1e-5, 1e-4, 1e15, 1e16, 1e22, 1e100, 5e-324,
		math.MaxFloat64, -1.5, 0.1, 123456789.125, math.NaN(), math.Inf(1), math.Inf(-1)}
	r := rand.New(rand.NewPCG(21, 1))
	for range 100000 {
		floats = append(floats, math.Float64frombits(r.Uint64()), float64(r.IntN(1<<30))/float64(uint64(1)<<r.IntN(50)))
	}
	for _, f := range floats {
		want := floatReprByStrings(f)
		if got := FloatRepr(f); got != want {
			t.Fatalf("FloatRepr(%v) = %s, want %s", f, got, want)
		}
		var w JSONWriter
		w.Float(f)
		if got := string(w.Bytes()); got != want {
			t.Fatalf("JSONWriter.Float(%v) = %s, want %s", f, got, want)
		}
	}
}

// The DjangoJSON reference is the former string form too: cut to milliseconds, +00:00 as Z.
func TestISOFormatMatchesFmtForm(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+30*60), time.FixedZone("", -(9*3600 + 30*60 + 15)), time.FixedZone("", 0)}
	for i := range 100000 {
		sec := r.Int64N(400000000000) - 62135596800 // years 1 to about 10,700
		ns := int64(0)
		if i%2 == 0 {
			ns = r.Int64N(1e9) / 1000 * 1000
		}
		d := DateTime{Time: time.Unix(sec, ns).In(zones[i%len(zones)]), Aware: i%3 != 0}
		want := isoFormatByFmt(d)
		if got := d.ISOFormat(); got != want {
			t.Fatalf("ISOFormat(%v) = %s, want %s", d.Time, got, want)
		}
		if got := string(d.AppendISOFormat([]byte("x"))); got != "x"+want {
			t.Fatalf("AppendISOFormat(%v) = %s", d.Time, got)
		}
		if d.Time.Nanosecond() != 0 {
			want = want[:23] + want[26:]
		}
		if strings.HasSuffix(want, "+00:00") {
			want = strings.TrimSuffix(want, "+00:00") + "Z"
		}
		if got := d.DjangoJSON(); got != want {
			t.Fatalf("DjangoJSON(%v) = %s, want %s", d.Time, got, want)
		}
	}
}
