package pycompat

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// DateTime is a Python datetime as fromisoformat builds it: microsecond precision and, when
// aware, the UTC offset exactly as written (isoformat prints it back unchanged).
type DateTime struct {
	Time  time.Time // in a fixed zone carrying the written offset; UTC location when naive
	Aware bool
	// OffsetFraction: the written offset had a fraction of a second (Python keeps it), which
	// Time and ISOFormat leave out.
	OffsetFraction bool
}

// FromISOFormat mirrors datetime.fromisoformat (Python 3.11+) for calendar dates: YYYY-MM-DD or
// YYYYMMDD, any single separator character, HH[:MM[:SS[.f+]]] or their basic forms, and an
// offset of Z or ±HH[:MM[:SS[.ffffff]]]. Fractions are truncated to microseconds. ISO week dates
// are refused (Python accepts them; no credential uses them). The error text is Python's.
func FromISOFormat(s string) (DateTime, error) {
	//lint:ignore ST1005 this is Python's exact message, which Django returns to clients
	bad := fmt.Errorf("Invalid isoformat string: %s", Repr(s))
	date, rest, ok := splitISODate(s)
	if !ok {
		return DateTime{}, bad
	}
	year, month, day := date[0], date[1], date[2]
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || year < 1 {
		return DateTime{}, bad
	}
	var clock [4]int
	offset, aware, fraction := 0, false, false
	if rest != "" {
		var err error
		// rest[0] is the separator; Python accepts any single character there.
		_, size := firstRune(rest)
		clock, offset, fraction, aware, err = parseISOTime(rest[size:])
		if err != nil {
			return DateTime{}, bad
		}
	}
	loc := time.UTC
	if aware {
		loc = time.FixedZone("", offset)
	}
	t := time.Date(year, time.Month(month), day, clock[0], clock[1], clock[2], clock[3]*1000, loc)
	return DateTime{Time: t, Aware: aware, OffsetFraction: fraction}, nil
}

func firstRune(s string) (rune, int) {
	for _, r := range s {
		return r, len(string(r))
	}
	return 0, 0
}

func splitISODate(s string) ([3]int, string, bool) {
	var out [3]int
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		y, e1 := atoiDigits(s[0:4])
		m, e2 := atoiDigits(s[5:7])
		d, e3 := atoiDigits(s[8:10])
		if e1 && e2 && e3 {
			return [3]int{y, m, d}, s[10:], true
		}
		return out, "", false
	}
	if len(s) >= 8 {
		y, e1 := atoiDigits(s[0:4])
		m, e2 := atoiDigits(s[4:6])
		d, e3 := atoiDigits(s[6:8])
		if e1 && e2 && e3 && (len(s) == 8 || s[8] < '0' || s[8] > '9') {
			return [3]int{y, m, d}, s[8:], true
		}
	}
	return out, "", false
}

func atoiDigits(s string) (int, bool) {
	if s == "" || !allDigits(s) {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	return v, err == nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseISOTime parses the time and optional offset; clock is hour, minute, second, microsecond;
// offset is in whole seconds, fraction reports the microseconds it leaves out.
func parseISOTime(s string) (clock [4]int, offset int, fraction, aware bool, err error) {
	fail := fmt.Errorf("bad time")
	tzAt := strings.IndexAny(s, "Z+-")
	timePart, tzPart := s, ""
	if tzAt >= 0 {
		timePart, tzPart = s[:tzAt], s[tzAt:]
	}
	if clock, err = parseHMSF(timePart); err != nil {
		return clock, 0, false, false, fail
	}
	if clock[0] > 23 || clock[1] > 59 || clock[2] > 59 {
		return clock, 0, false, false, fail
	}
	if tzPart == "" {
		return clock, 0, false, false, nil
	}
	if tzPart == "Z" {
		return clock, 0, false, true, nil
	}
	sign := 1
	if tzPart[0] == '-' {
		sign = -1
	}
	tz, err := parseHMSF(tzPart[1:])
	if err != nil || tz[0] > 23 || tz[1] > 59 || tz[2] > 59 {
		return clock, 0, false, false, fail
	}
	return clock, sign * (tz[0]*3600 + tz[1]*60 + tz[2]), tz[3] != 0, true, nil
}

// parseHMSF parses HH[:MM[:SS[.f+]]] or HH[MM[SS[.f+]]], for clocks and offsets alike.
func parseHMSF(s string) ([4]int, error) {
	var out [4]int
	fail := fmt.Errorf("bad time")
	frac := ""
	if i := strings.IndexAny(s, ".,"); i >= 0 {
		s, frac = s[:i], s[i+1:]
		if frac == "" || !allDigits(frac) {
			return out, fail
		}
	}
	var parts []string
	if strings.Contains(s, ":") {
		parts = strings.Split(s, ":")
	} else {
		for len(s) > 2 {
			parts = append(parts, s[:2])
			s = s[2:]
		}
		parts = append(parts, s)
	}
	if len(parts) > 3 {
		return out, fail
	}
	for i, p := range parts {
		if len(p) != 2 {
			return out, fail
		}
		v, ok := atoiDigits(p)
		if !ok {
			return out, fail
		}
		out[i] = v
	}
	if frac != "" {
		if len(parts) != 3 {
			return out, fail
		}
		if len(frac) > 6 {
			frac = frac[:6]
		}
		v, _ := strconv.Atoi(frac + strings.Repeat("0", 6-len(frac)))
		out[3] = v
	}
	return out, nil
}

// ISOFormat mirrors datetime.isoformat(): microseconds printed as 6 digits only when non-zero,
// the offset as ±HH:MM (with :SS when needed) when aware.
func (d DateTime) ISOFormat() string {
	var buf [40]byte
	return string(d.AppendISOFormat(buf[:0]))
}

// AppendISOFormat appends d.ISOFormat() to b.
func (d DateTime) AppendISOFormat(b []byte) []byte {
	t := d.Time
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	b = appendPadded(b, year, 4)
	b = appendPadded(append(b, '-'), int(month), 2)
	b = appendPadded(append(b, '-'), day, 2)
	b = appendPadded(append(b, 'T'), hour, 2)
	b = appendPadded(append(b, ':'), minute, 2)
	b = appendPadded(append(b, ':'), second, 2)
	if us := t.Nanosecond() / 1000; us != 0 {
		b = appendPadded(append(b, '.'), us, 6)
	}
	if d.Aware {
		_, off := t.Zone()
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		b = appendPadded(append(b, sign), off/3600, 2)
		b = appendPadded(append(b, ':'), off/60%60, 2)
		if off%60 != 0 {
			b = appendPadded(append(b, ':'), off%60, 2)
		}
	}
	return b
}

// appendPadded appends v as fmt's %0<width>d does: zeros after the sign up to width characters.
func appendPadded(b []byte, v, width int) []byte {
	if v < 0 {
		b = append(b, '-')
		v, width = -v, width-1
	}
	var digits [20]byte
	text := strconv.AppendInt(digits[:0], int64(v), 10)
	b = appendZeros(b, width-len(text))
	return append(b, text...)
}

// UTCDateTime wraps an instant as Python's datetime.now(timezone.utc) would hold it.
func UTCDateTime(t time.Time) DateTime {
	return DateTime{Time: t.UTC().Truncate(time.Microsecond), Aware: true}
}

// DjangoJSON mirrors DjangoJSONEncoder for datetimes: isoformat cut to milliseconds and a
// +00:00 offset written as Z.
func (d DateTime) DjangoJSON() string {
	var buf [40]byte
	r := d.AppendISOFormat(buf[:0])
	if d.Time.Nanosecond()/1000 != 0 {
		r = append(r[:23], r[26:]...)
	}
	if bytes.HasSuffix(r, []byte("+00:00")) {
		r = append(r[:len(r)-len("+00:00")], 'Z')
	}
	return string(r)
}

// Repr mirrors repr(str) for the error texts Python builds with !r.
func Repr(s string) string {
	quote := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, "\"") {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(quote):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == ' ' || unicode.IsPrint(r): // str.isprintable
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}
