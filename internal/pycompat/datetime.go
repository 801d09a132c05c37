package pycompat

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// FromISOFormat mirrors CPython 3.12's datetime.fromisoformat, which is the C function
// datetime_fromisoformat in Modules/_datetimemodule.c; each helper below names the C function
// it ports. In short: a calendar date (YYYY-MM-DD, YYYYMMDD) or an ISO week date (YYYY-Www,
// YYYYWww, YYYY-Www-D, YYYYWwwD; ordinal dates are not read), then any one character, then
// HH[:MM[:SS]] (colons all or none) with a fraction after '.', ',' or, oddly, ':', then Z or
// ±HH[:MM[:SS[.f]]]. The C parser works on the string's UTF-8 bytes and takes liberties a
// grammar would not (a stray character before the offset, "HH:MM.ffffff", an offset of
// "+05:99"); this port keeps every one of them. Fractions are truncated to microseconds.
//
// The error is Python's ValueError text: "Invalid isoformat string: <repr>" when parsing fails,
// or the datetime/timezone constructor's message when the fields parse but are out of range
// ("month must be in 1..12", "hour must be in 0..23", "offset must be a timedelta strictly
// between ..."). 3.12 has no "24:00" (3.14 reads it as the next midnight): hour 24 is out of
// range.
//
// s is read as Python text: lone surrogates may be written in it as their generalized UTF-8
// (WTF-8) bytes; any other byte sequence that is not UTF-8 has no Python counterpart and is
// refused as an invalid string.
func FromISOFormat(s string) (DateTime, error) {
	b, ok := sanitizeISOFormat(s)
	if !ok {
		return DateTime{}, invalidISOFormat(s)
	}
	sep := b.isoSeparator()
	year, month, day, rv := b.parseISODate(sep)
	var clock [4]int
	var tzSeconds, tzMicros int
	if rv == 0 && len(b) > sep {
		// The separator is one character of any width: its UTF-8 lead byte gives the width
		// (datetime_fromisoformat switches on its high bits).
		p := sep + utf8LeadWidth(b.at(sep))
		clock, tzSeconds, tzMicros, rv = b.parseISOTime(p, len(b)-p)
	}
	if rv < 0 {
		return DateTime{}, invalidISOFormat(s)
	}

	// tzinfo_from_isoformat_results, then new_timezone: an offset of zero seconds is UTC
	// whatever its fraction (the C code tests tzoffset alone); any other must lie strictly
	// within a day. The timezone is built before the datetime, so its error comes first.
	aware, offset, fraction := rv == 1, 0, false
	if aware && tzSeconds != 0 {
		total := int64(tzSeconds)*1e6 + int64(tzMicros)
		if total <= -usPerDay || total >= usPerDay {
			//lint:ignore ST1005 CPython's message, period included: it reaches in-band errors
			return DateTime{}, fmt.Errorf("offset must be a timedelta strictly between "+
				"-timedelta(hours=24) and timedelta(hours=24), not %s.", timedeltaRepr(total))
		}
		offset, fraction = tzSeconds, tzMicros != 0
	}

	// new_datetime_ex2: check_date_args, then check_time_args.
	switch {
	case year < 1 || year > 9999:
		return DateTime{}, fmt.Errorf("year %d is out of range", year)
	case month < 1 || month > 12:
		return DateTime{}, fmt.Errorf("month must be in 1..12")
	case day < 1 || day > daysInMonth(year, month):
		return DateTime{}, fmt.Errorf("day is out of range for month")
	case clock[0] > 23:
		return DateTime{}, fmt.Errorf("hour must be in 0..23")
	case clock[1] > 59:
		return DateTime{}, fmt.Errorf("minute must be in 0..59")
	case clock[2] > 59:
		return DateTime{}, fmt.Errorf("second must be in 0..59")
	}

	loc := time.UTC
	if aware {
		loc = time.FixedZone("", offset)
	}
	t := time.Date(year, time.Month(month), day, clock[0], clock[1], clock[2], clock[3]*1000, loc)
	return DateTime{Time: t, Aware: aware, OffsetFraction: fraction}, nil
}

const usPerDay = 86400 * 1e6

// invalidISOFormat is datetime_fromisoformat's invalid_string_error.
func invalidISOFormat(s string) error {
	//lint:ignore ST1005 this is Python's exact message, which Django returns to clients
	return fmt.Errorf("Invalid isoformat string: %s", Repr(s))
}

// timedeltaRepr is repr(timedelta(microseconds=us)) (delta_repr): days, seconds and
// microseconds after normalisation, the zero ones left out.
func timedeltaRepr(us int64) string {
	days := us / usPerDay
	if us%usPerDay < 0 {
		days--
	}
	rest := us - days*usPerDay
	var parts []string
	if days != 0 {
		parts = append(parts, "days="+strconv.FormatInt(days, 10))
	}
	if rest/1e6 != 0 {
		parts = append(parts, "seconds="+strconv.FormatInt(rest/1e6, 10))
	}
	if rest%1e6 != 0 {
		parts = append(parts, "microseconds="+strconv.FormatInt(rest%1e6, 10))
	}
	if len(parts) == 0 {
		parts = []string{"0"}
	}
	return "datetime.timedelta(" + strings.Join(parts, ", ") + ")"
}

// isoText is the UTF-8 buffer the C parser reads, and reads as C reads a NUL-terminated
// string: a byte at or past the end is NUL. A NUL inside the text (Python allows "\x00") is
// read as the terminator too, wherever the C code looks for one.
type isoText string

func (b isoText) at(i int) byte {
	if i < 0 || i >= len(b) {
		return 0
	}
	return b[i]
}

// sanitizeISOFormat mirrors _sanitize_isoformat_str and the PyUnicode_AsUTF8AndSize call
// after it: fewer than 7 code points is invalid; the first of code points 7, 8 and 10 that is
// a surrogate (only the separator may be one) becomes 'T'; any other surrogate makes the
// encoding fail, which is an invalid string too.
func sanitizeISOFormat(s string) (isoText, bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return isoText(s), len(s) >= 7
	}
	count, replaced, replaceAt := 0, false, -1
	var surrogates int
	for i := 0; i < len(s); {
		if isWTF8Surrogate(s[i:]) {
			surrogates++
			if !replaced && (count == 7 || count == 8 || count == 10) {
				replaced, replaceAt = true, i
			}
			count, i = count+1, i+3
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return "", false
		}
		count, i = count+1, i+n
	}
	// The C loop stops at the first of 7, 8, 10 holding a surrogate, so a surrogate there
	// other than the first is left to fail the encoding.
	if count < 7 || surrogates > 1 || surrogates == 1 && !replaced {
		return "", false
	}
	if replaced {
		return isoText(s[:replaceAt] + "T" + s[replaceAt+3:]), true
	}
	return isoText(s), true
}

// isWTF8Surrogate reports whether s starts with a surrogate code point in generalized UTF-8
// (ED A0..BF 80..BF), which is how a Go string carries Python's lone surrogates.
func isWTF8Surrogate(s string) bool {
	return len(s) >= 3 && s[0] == 0xED && s[1] >= 0xA0 && s[1] <= 0xBF && s[2] >= 0x80 && s[2] <= 0xBF
}

// utf8LeadWidth is the width datetime_fromisoformat gives a character from its first byte.
func utf8LeadWidth(c byte) int {
	switch {
	case c&0x80 == 0:
		return 1
	case c&0xF0 == 0xE0:
		return 3
	case c&0xF0 == 0xF0:
		return 4
	}
	return 2
}

func isDigitByte(c byte) bool { return c-'0' < 10 }

// parseDigits mirrors parse_digits: n ASCII digits from p, accumulated onto *v; the position
// after them, or ok false at the first byte that is not a digit.
func (b isoText) parseDigits(p, n int, v *int) (next int, ok bool) {
	for i := 0; i < n; i++ {
		c := b.at(p)
		p++
		if !isDigitByte(c) {
			return p, false
		}
		*v = *v*10 + int(c-'0')
	}
	return p, true
}

// isoSeparator mirrors _find_isoformat_datetime_separator: where the date ends, judged from
// bytes 4, 5, 8 and 10 (and, for YYYYWww..., the run of digits from byte 7); -1 for the two
// shapes it gives up on. It never checks that the date is well formed.
func (b isoText) isoSeparator() int {
	n := len(b)
	if n == 7 {
		return 7
	}
	if b.at(4) == '-' {
		if b.at(5) != 'W' {
			return 10 // YYYY-MM-DD
		}
		if n < 8 {
			return -1
		}
		if n > 8 && b.at(8) == '-' {
			if n == 9 {
				return -1
			}
			// YYYY-Www-D then a separator, unless a digit follows at 10: then the '-' at 8 is
			// taken for the separator of YYYY-Www and the digits for the hour.
			if n > 10 && isDigitByte(b.at(10)) {
				return 8
			}
			return 10
		}
		return 8 // YYYY-Www
	}
	if b.at(4) != 'W' {
		return 8 // YYYYMMDD
	}
	// YYYYWww or YYYYWwwD: count the digits from byte 7. Time fields come in pairs, so an
	// odd total run (ending at an even index) means no day digit.
	idx := 7
	for idx < n && isDigitByte(b.at(idx)) {
		idx++
	}
	if idx < 9 {
		return idx
	}
	if idx%2 == 0 {
		return 7
	}
	return 8
}

// parseISODate mirrors parse_isoformat_date on the first dateLen bytes (dateLen only matters
// for week dates, where it says whether a day digit follows; -1 stands for C's (size_t)-1).
// rv is 0 on success, negative as in C otherwise. Week dates go through isoToYMD.
func (b isoText) parseISODate(dateLen int) (year, month, day, rv int) {
	p, ok := b.parseDigits(0, 4, &year)
	if !ok {
		return 0, 0, 0, -1
	}
	usesSeparator := b.at(p) == '-'
	if usesSeparator {
		p++
	}
	if b.at(p) == 'W' {
		p++
		var week, weekday int
		if p, ok = b.parseDigits(p, 2, &week); !ok {
			return 0, 0, 0, -3
		}
		if dateLen < 0 || p < dateLen {
			if p, ok = b.dash(p, usesSeparator); !ok {
				return 0, 0, 0, -2
			}
			if _, ok = b.parseDigits(p, 1, &weekday); !ok {
				return 0, 0, 0, -4
			}
		} else {
			weekday = 1
		}
		if y, m, d, err := isoToYMD(year, week, weekday); err != 0 {
			return 0, 0, 0, -3 + err
		} else {
			return y, m, d, 0
		}
	}
	if p, ok = b.parseDigits(p, 2, &month); !ok {
		return 0, 0, 0, -1
	}
	if p, ok = b.dash(p, usesSeparator); !ok {
		return 0, 0, 0, -2
	}
	if _, ok = b.parseDigits(p, 2, &day); !ok {
		return 0, 0, 0, -1
	}
	return year, month, day, 0
}

// dash steps over the '-' a date written with separators has at p (C's
// `if (uses_separator && *(p++) != '-')`): ok is false when another byte stands there.
func (b isoText) dash(p int, usesSeparator bool) (next int, ok bool) {
	if !usesSeparator {
		return p, true
	}
	return p + 1, b.at(p) == '-'
}

// parseISOTime mirrors parse_isoformat_time on the n bytes from start: the clock runs up to the
// first 'Z', '+' or '-' (the offset), and anything parseHMSF leaves over before that point is
// forgiven when an offset follows. rv: 0 naive, 1 with an offset of tzSeconds and tzMicros
// (both carrying the sign), negative when invalid.
func (b isoText) parseISOTime(start, n int) (clock [4]int, tzSeconds, tzMicros, rv int) {
	end := start + n
	tz := start
	for { // C's do-while: the first byte is looked at even when n is 0
		if c := b.at(tz); c == 'Z' || c == '+' || c == '-' {
			break
		}
		if tz++; tz >= end {
			break
		}
	}
	clock, rv = b.parseHMSF(start, tz)
	if rv < 0 {
		return clock, 0, 0, rv
	}
	if tz == end {
		if rv == 1 { // left-over text and no offset
			return clock, 0, 0, -5
		}
		return clock, 0, 0, 0
	}
	if b.at(tz) == 'Z' {
		// 'Z' must be the last byte: C tests the next byte for NUL.
		if b.at(tz+1) != 0 {
			return clock, 0, 0, -5
		}
		return clock, 0, 0, 1
	}
	sign := 1
	if b.at(tz) == '-' {
		sign = -1
	}
	off, rv := b.parseHMSF(tz+1, end)
	if rv != 0 {
		return clock, 0, 0, -5
	}
	// No range check on the fields: "+05:99" is 6:39; the timezone constructor bounds the total.
	return clock, sign * (off[0]*3600 + off[1]*60 + off[2]), sign * off[3], 1
}

// parseHMSF mirrors parse_hh_mm_ss_ff on the bytes from p up to end, for clocks and offsets
// alike: HH, then MM and SS each after a ':' if the first separator was one (or directly if it
// was not), then a fraction after '.' or ',' -- or after a third ':' -- whose first six digits
// count and the rest are skipped. Missing fields are 0. rv is 0 when the text ends (at NUL)
// where the fields end, 1 when something is left over (the caller decides), -3 for a missing
// digit, -4 for a wrong separator.
func (b isoText) parseHMSF(p, end int) (fields [4]int, rv int) {
	hasSeparator := true
components:
	for i := 0; i < 3; i++ {
		var ok bool
		if p, ok = b.parseDigits(p, 2, &fields[i]); !ok {
			return fields, -3
		}
		c := b.at(p)
		p++
		if i == 0 {
			hasSeparator = c == ':'
		}
		switch {
		case p >= end:
			// The byte read past the field is the one at end (the offset's first byte) or
			// the terminator: only NUL counts as a clean end.
			if c != 0 {
				return fields, 1
			}
			return fields, 0
		case hasSeparator && c == ':':
			// next field; after SS this ends the loop and the fraction follows the colon
		case c == '.' || c == ',':
			break components
		case !hasSeparator:
			p-- // basic format: c is the next field's first digit
		default:
			return fields, -4
		}
	}
	// The fraction: up to six digits, scaled to microseconds; end > p here.
	digits := min(end-p, 6)
	var ok bool
	if p, ok = b.parseDigits(p, digits, &fields[3]); !ok {
		return fields, -3
	}
	for ; digits < 6; digits++ {
		fields[3] *= 10
	}
	for isDigitByte(b.at(p)) {
		p++ // truncated digits
	}
	if b.at(p) != 0 {
		return fields, 1
	}
	return fields, 0
}

// isoToYMD mirrors iso_to_ymd as CPython 3.12 has it since 3.12.4 (gh-117534; the scorer's
// image, python:3.12, runs the latest 3.12): ISO year, week and weekday to a calendar date. err
// is -4 for a year outside 1..9999 (year 0, the one four digits can write), -2 for a week the
// year lacks, -3 for a weekday outside 1..7; each makes the string invalid. The date may fall
// in year 10000 (9999-W52-6), which the datetime constructor refuses.
func isoToYMD(isoYear, week, weekday int) (year, month, day, err int) {
	if isoYear < 1 || isoYear > 9999 {
		return 0, 0, 0, -4
	}
	if week <= 0 || week >= 53 {
		// Week 53 exists in years starting on a Thursday, and leap years starting on a
		// Wednesday.
		if week != 53 {
			return 0, 0, 0, -2
		}
		if first := weekdayOf(isoYear, 1, 1); !(first == 3 || first == 2 && isLeap(isoYear)) {
			return 0, 0, 0, -2
		}
	}
	if weekday <= 0 || weekday >= 8 {
		return 0, 0, 0, -3
	}
	year, month, day = ordToYMD(isoWeek1Monday(isoYear) + (week-1)*7 + weekday - 1)
	return year, month, day, 0
}

// The proleptic Gregorian helpers below are _datetimemodule.c's, with 0001-01-01 as ordinal 1.

var daysBeforeMonthTable = [13]int{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysInMonth(y, m int) int {
	if m == 2 && isLeap(y) {
		return 29
	}
	return [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
}

// ymdToOrd mirrors ymd_to_ord (days_before_year + days_before_month + day).
func ymdToOrd(y, m, d int) int {
	py := y - 1
	days := py*365 + py/4 - py/100 + py/400 + daysBeforeMonthTable[m] + d
	if m > 2 && isLeap(y) {
		days++
	}
	return days
}

// weekdayOf mirrors weekday: Monday is 0.
func weekdayOf(y, m, d int) int { return (ymdToOrd(y, m, d) + 6) % 7 }

// isoWeek1Monday mirrors iso_week1_monday: the ordinal of the Monday of ISO week 1.
func isoWeek1Monday(y int) int {
	first := ymdToOrd(y, 1, 1)
	wd := (first + 6) % 7
	monday := first - wd
	if wd > 3 {
		monday += 7
	}
	return monday
}

// ordToYMD mirrors ord_to_ymd for ordinals of 1 and more.
func ordToYMD(ordinal int) (year, month, day int) {
	const di400y, di100y, di4y = 146097, 36524, 1461
	n := ordinal - 1
	n400, n := n/di400y, n%di400y
	n100, n := n/di100y, n%di100y
	n4, n := n/di4y, n%di4y
	n1, n := n/365, n%365
	year = n400*400 + 1 + n100*100 + n4*4 + n1
	if n1 == 4 || n100 == 4 {
		return year - 1, 12, 31
	}
	month = (n + 50) >> 5
	preceding := daysBeforeMonthTable[month]
	if month > 2 && isLeap(year) {
		preceding++
	}
	if preceding > n {
		month--
		preceding -= daysInMonth(year, month)
	}
	return year, month, n - preceding + 1
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

// Repr mirrors repr(str) for the error texts Python builds with !r. A lone surrogate written
// as its generalized UTF-8 bytes (see FromISOFormat) is printed as Python prints it, \udXXX.
func Repr(s string) string {
	quote := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, "\"") {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if isWTF8Surrogate(s[i:]) {
			r, n = rune(s[i]&0x0F)<<12|rune(s[i+1]&0x3F)<<6|rune(s[i+2]&0x3F), 3
		}
		i += n
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
