package pycompat

import (
	"testing"
	"time"
)

// isoCase is one datetime.fromisoformat input with CPython 3.12's verdict, derived from
// Modules/_datetimemodule.c (and checked against a CPython build of the same C code): iso is
// what DateTime.ISOFormat prints (Python's isoformat() too, except that Python also prints an
// offset's fraction of a second, which frac flags), or err is str() of the ValueError.
type isoCase struct {
	in, iso, err string
	frac         bool
}

const offsetRange = "offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24), not "

// Each case names, where it is not obvious, the C code that decides it: phms is
// parse_hh_mm_ss_ff, pit parse_isoformat_time, pid parse_isoformat_date, sep
// _find_isoformat_datetime_separator, dfi datetime_fromisoformat.
var isoCases = []isoCase{
	// The audit's disagreements.
	// phms: after SS a ':' with has_separator set takes "continue", which ends the loop, and the
	// fraction is read after it; the 'Z' it stops at returns 1, which pit ignores when an offset
	// follows.
	{in: "2099-03-04T16:35:23:938Z", iso: "2099-03-04T16:35:23.938000+00:00"},
	// phms: '.' after MM breaks to the fraction; SS stays 0.
	{in: "2099-03-04T16:35.232938Z", iso: "2099-03-04T16:35:00.232938+00:00"},
	// phms: after SS, p reaches the offset and returns c != '\0' (1); pit ignores it.
	{in: "2099-03-04T16:35:23 Z", iso: "2099-03-04T16:35:23+00:00"},
	{in: "2099-03-04T16:35:23.Z", iso: "2099-03-04T16:35:23+00:00"},
	{in: "2099-W01-1T00:00:00Z", iso: "2098-12-29T00:00:00+00:00"},
	// pit: the 'Z' special case requires the next byte to be NUL.
	{in: "2099-03-04T16:35:23Z05:30", err: "Invalid isoformat string: '2099-03-04T16:35:23Z05:30'"},

	// Fractions: 1-6 digits scaled by the correction table, more truncated (never rounded).
	{in: "2099-03-04T16:35:23.1", iso: "2099-03-04T16:35:23.100000"},
	{in: "2099-03-04T16:35:23.12", iso: "2099-03-04T16:35:23.120000"},
	{in: "2099-03-04T16:35:23.123", iso: "2099-03-04T16:35:23.123000"},
	{in: "2099-03-04T16:35:23.1234", iso: "2099-03-04T16:35:23.123400"},
	{in: "2099-03-04T16:35:23.12345", iso: "2099-03-04T16:35:23.123450"},
	{in: "2099-03-04T16:35:23.123456", iso: "2099-03-04T16:35:23.123456"},
	{in: "2099-03-04T16:35:23.1234567", iso: "2099-03-04T16:35:23.123456"},
	{in: "2099-03-04T16:35:23.9999999999", iso: "2099-03-04T16:35:23.999999"},
	{in: "2099-03-04T16:35:23,5", iso: "2099-03-04T16:35:23.500000"},
	// phms: the '.' is the last byte, so it returns c != '\0' (1) before any fraction; with no
	// offset pit makes that -5.
	{in: "2099-03-04T16:35:23.", err: "Invalid isoformat string: '2099-03-04T16:35:23.'"},
	// phms: to_parse is min(bytes left, 6), so the 'a' is inside it and parse_digits fails.
	{in: "2099-03-04T16:35:23.12a", err: "Invalid isoformat string: '2099-03-04T16:35:23.12a'"},
	// phms: six digits, the seventh skipped, then "*p != '\0'" is 1; no offset: -5.
	{in: "2099-03-04T16:35:23.1234567a", err: "Invalid isoformat string: '2099-03-04T16:35:23.1234567a'"},
	// The same left-over byte is forgiven before an offset.
	{in: "2099-03-04T16:35:23.1234567 Z", iso: "2099-03-04T16:35:23.123456+00:00"},
	// phms: '.' right after HH breaks to the fraction (HH.ffffff).
	{in: "2099-03-04T16.5", iso: "2099-03-04T16:00:00.500000"},
	{in: "2099-03-04T16:35:23:938", iso: "2099-03-04T16:35:23.938000"},
	// phms: basic format; after SS the "--p" branch ends the loop and the digits left are
	// read as a fraction though no '.' precedes them.
	{in: "2099-03-04T1635231234", iso: "2099-03-04T16:35:23.123400"},
	// A NUL inside the text: the six fraction digits to parse include it, parse_digits fails.
	{in: "2099-03-04T16:35:23.5\x00junk", err: `Invalid isoformat string: '2099-03-04T16:35:23.5\x00junk'`},

	// Clock shapes.
	{in: "2099-03-04T16", iso: "2099-03-04T16:00:00"},
	{in: "2099-03-04T1635", iso: "2099-03-04T16:35:00"},
	{in: "2099-03-04T163523", iso: "2099-03-04T16:35:23"},
	{in: "20990304T16", iso: "2099-03-04T16:00:00"},
	{in: "2099-03-04T163", err: "Invalid isoformat string: '2099-03-04T163'"},
	{in: "2099-03-04T16:3", err: "Invalid isoformat string: '2099-03-04T16:3'"},
	{in: "2099-03-04T16:", err: "Invalid isoformat string: '2099-03-04T16:'"},
	{in: "2099-03-04T16:35:", err: "Invalid isoformat string: '2099-03-04T16:35:'"},
	// phms returns 1 for the trailing ':' (p reached the offset), which pit ignores.
	{in: "2099-03-04T16:35:Z", iso: "2099-03-04T16:35:00+00:00"},
	{in: "2099-03-04T16Z", iso: "2099-03-04T16:00:00+00:00"},
	// phms: has_separator is fixed by the first separator; a missing later ':' is -4.
	{in: "2099-03-04T16:3523", err: "Invalid isoformat string: '2099-03-04T16:3523'"},
	{in: "2099-03-04T1635:23", err: "Invalid isoformat string: '2099-03-04T1635:23'"},
	// dfi: a separator with nothing after it leaves pit an empty time; parse_digits reads NUL.
	{in: "2099-03-04T", err: "Invalid isoformat string: '2099-03-04T'"},
	{in: "2099-03-04T16:35:23 ", err: "Invalid isoformat string: '2099-03-04T16:35:23 '"},

	// Offsets: +HH, +HHMM, +HH:MM:SS, fractions.
	{in: "2099-03-04T16:35:23+05", iso: "2099-03-04T16:35:23+05:00"},
	{in: "2099-03-04T16:35:23+0530", iso: "2099-03-04T16:35:23+05:30"},
	{in: "2099-03-04T16:35:23-0530", iso: "2099-03-04T16:35:23-05:30"},
	{in: "2099-03-04T16:35:23+05:30:15", iso: "2099-03-04T16:35:23+05:30:15"},
	{in: "2099-03-04T16:35:23+053015", iso: "2099-03-04T16:35:23+05:30:15"},
	// Python prints +05:30:15.500000.
	{in: "2099-03-04T16:35:23+05:30:15.5", iso: "2099-03-04T16:35:23+05:30:15", frac: true},
	// Offset HH:MM.f; Python prints -05:30:00.500000.
	{in: "2099-03-04T16:35:23-05:30.5", iso: "2099-03-04T16:35:23-05:30", frac: true},
	// tzinfo_from_isoformat_results tests tzoffset (whole seconds) alone: zero is UTC and the
	// fraction is dropped.
	{in: "2099-03-04T16:35:23+00:00:00.5", iso: "2099-03-04T16:35:23+00:00"},
	{in: "2099-03-04T16:35:23-00:00", iso: "2099-03-04T16:35:23+00:00"},
	// pit: offset fields are not range-checked; 5 h 99 min is 6:39.
	{in: "2099-03-04T16:35:23+05:99", iso: "2099-03-04T16:35:23+06:39"},
	// Python prints ±23:59:59.999999.
	{in: "2099-03-04T16:35:23+23:59:59.999999", iso: "2099-03-04T16:35:23+23:59:59", frac: true},
	{in: "2099-03-04T16:35:23-23:59:59.999999", iso: "2099-03-04T16:35:23-23:59:59", frac: true},
	// new_timezone: a day or more either way is its ValueError, with the timedelta's repr.
	{in: "2099-03-04T16:35:23+24:00", err: offsetRange + "datetime.timedelta(days=1)."},
	{in: "2099-03-04T16:35:23-24:00", err: offsetRange + "datetime.timedelta(days=-1)."},
	{in: "2099-03-04T16:35:23+99:99:99", err: offsetRange + "datetime.timedelta(days=4, seconds=16839)."},
	{in: "2099-03-04T16:35:23+24:00:00.000001", err: offsetRange + "datetime.timedelta(days=1, microseconds=1)."},
	{in: "2099-03-04T16:35:23-24:00:00.5", err: offsetRange + "datetime.timedelta(days=-2, seconds=86399, microseconds=500000)."},
	// pit: the first '-' after the separator starts the offset: 16 o'clock at -35:00.
	{in: "2099-03-04T16-35", err: offsetRange + "datetime.timedelta(days=-2, seconds=46800)."},
	// dfi builds the timezone before the datetime, so its error wins over the bad month.
	{in: "2099-13-01T00:00+24:00", err: offsetRange + "datetime.timedelta(days=1)."},
	{in: "2099-03-04T16:35:23+5", err: "Invalid isoformat string: '2099-03-04T16:35:23+5'"},
	{in: "2099-03-04T16:35:23+", err: "Invalid isoformat string: '2099-03-04T16:35:23+'"},
	// pit: in the offset nothing is forgiven ("return rv ? -5 : 1").
	{in: "2099-03-04T16:35:23+05:30Z", err: "Invalid isoformat string: '2099-03-04T16:35:23+05:30Z'"},
	{in: "2099-03-04T16:35:23+05:30 ", err: "Invalid isoformat string: '2099-03-04T16:35:23+05:30 '"},
	{in: "2099-03-04T16:35:23+05:3", err: "Invalid isoformat string: '2099-03-04T16:35:23+05:3'"},
	{in: "2099-03-04T16:35:23+05:30:00.123Z", err: "Invalid isoformat string: '2099-03-04T16:35:23+05:30:00.123Z'"},
	{in: "2099-03-04T16:35:23ZZ", err: "Invalid isoformat string: '2099-03-04T16:35:23ZZ'"},
	// pit: after 'Z' the C test is for a NUL byte, not for the end of the text.
	{in: "2099-03-04T16:35:23Z\x00junk", iso: "2099-03-04T16:35:23+00:00"},
	// pit looks for 'Z' only: lowercase 'z' is a left-over byte with no offset after it.
	{in: "2099-03-04T16:35:23z", err: "Invalid isoformat string: '2099-03-04T16:35:23z'"},

	// Separators: any one character, of any UTF-8 width (dfi's lead-byte switch).
	{in: "2099-03-04t16:35:23", iso: "2099-03-04T16:35:23"},
	{in: "2099-03-04 16:35", iso: "2099-03-04T16:35:00"},
	{in: "2099-03-04116:35", iso: "2099-03-04T16:35:00"},
	{in: "2099-03-04-16:35-05:00", iso: "2099-03-04T16:35:00-05:00"},
	{in: "2099-03-04\x0016:35", iso: "2099-03-04T16:35:00"},
	{in: "2099-03-04é16:35", iso: "2099-03-04T16:35:00"},
	{in: "2099-03-04時16:35", iso: "2099-03-04T16:35:00"},
	{in: "2099-03-04🐍16:35", iso: "2099-03-04T16:35:00"},
	// Lone surrogates (\ud800, written as WTF-8): _sanitize_isoformat_str turns the first
	// surrogate at code point 7, 8 or 10 into 'T'; any other makes the UTF-8 encoding fail.
	{in: "2099-03-04\xed\xa0\x8016:35", iso: "2099-03-04T16:35:00"},
	{in: "2099W01\xed\xa0\x8016:35", iso: "2098-12-29T16:35:00"},
	{in: "2009\xed\xa0\x8002\xed\xa0\x8028", err: `Invalid isoformat string: '2009\ud80002\ud80028'`},
	{in: "2099-03-\xed\xa0\x804T16:35", err: `Invalid isoformat string: '2099-03-\ud8004T16:35'`},
	{in: "2099-03-04T16:35\xed\xa0\x80", err: `Invalid isoformat string: '2099-03-04T16:35\ud800'`},
	// Only ASCII digits count (parse_digits).
	{in: "٢٠٩٩-03-04", err: "Invalid isoformat string: '٢٠٩٩-03-04'"},
	{in: "2099-03-04T１6:35", err: "Invalid isoformat string: '2099-03-04T１6:35'"},
	{in: "2099-03-04T16:35é", err: "Invalid isoformat string: '2099-03-04T16:35é'"},

	// Calendar dates, and the constructor's range errors (check_date_args, then
	// check_time_args). 3.12 has no 24:00.
	{in: "20990304", iso: "2099-03-04T00:00:00"},
	{in: "2099-03-04", iso: "2099-03-04T00:00:00"},
	{in: "2099-0304", err: "Invalid isoformat string: '2099-0304'"},
	{in: "209903-04", err: "Invalid isoformat string: '209903-04'"},
	// sep: seven bytes is always YYYYWww; pid wants '-' after the month.
	{in: "2099-03", err: "Invalid isoformat string: '2099-03'"},
	// No ordinal dates: YYYY-DDD is read as YYYY-MM-D.
	{in: "2099-063", err: "Invalid isoformat string: '2099-063'"},
	{in: "2099063", err: "Invalid isoformat string: '2099063'"},
	{in: "2099-03-0", err: "Invalid isoformat string: '2099-03-0'"},
	{in: "209903", err: "Invalid isoformat string: '209903'"},
	{in: "2099-13-01", err: "month must be in 1..12"},
	{in: "2099-00-10", err: "month must be in 1..12"},
	{in: "2099-02-29", err: "day is out of range for month"},
	{in: "2096-02-29", iso: "2096-02-29T00:00:00"},
	{in: "0000-01-01", err: "year 0 is out of range"},
	{in: "0001-01-01T00:00", iso: "0001-01-01T00:00:00"},
	{in: "2099-13-01T25:00", err: "month must be in 1..12"},
	{in: "2099-03-04T24:00", err: "hour must be in 0..23"},
	{in: "2099-03-04T23:60", err: "minute must be in 0..59"},
	{in: "2099-03-04T23:59:60", err: "second must be in 0..59"},

	// ISO week dates (iso_to_ymd) and where sep puts their end.
	{in: "2099-W01", iso: "2098-12-29T00:00:00"},
	{in: "2099W01", iso: "2098-12-29T00:00:00"},
	{in: "2099W011T00:00", iso: "2098-12-29T00:00:00"},
	{in: "2099-W01T10:00", iso: "2098-12-29T10:00:00"},
	{in: "2099-W01-1", iso: "2098-12-29T00:00:00"},
	// sep: YYYY-Www- followed by a digit at 10 is YYYY-Www, '-' the separator, 10:00 the clock.
	{in: "2099-W01-10:00", iso: "2098-12-29T10:00:00"},
	// sep returns -1 for nine bytes with '-' at 8; pid then reads the NUL as the day digit.
	{in: "2099-W01-", err: "Invalid isoformat string: '2099-W01-'"},
	// sep: 8; the week date ends there, '1' is the separator and the clock is empty.
	{in: "2099-W011", err: "Invalid isoformat string: '2099-W011'"},
	{in: "2099-W011T00:00", err: "Invalid isoformat string: '2099-W011T00:00'"},
	{in: "2099W01-1", err: "Invalid isoformat string: '2099W01-1'"},
	// sep: for YYYYWww the run of digits from byte 7 decides: odd end index, a day digit;
	// even, none, and the next digit is the separator.
	{in: "2099W0112:00", err: "Invalid isoformat string: '2099W0112:00'"},
	{in: "2099W0131200", iso: "2098-12-29T12:00:00"},
	{in: "2099W01312000", iso: "2098-12-31T20:00:00"},
	{in: "2020-W53-7", iso: "2021-01-03T00:00:00"},
	{in: "2009-W53-7", iso: "2010-01-03T00:00:00"},
	{in: "2019-W53-1", err: "Invalid isoformat string: '2019-W53-1'"},
	{in: "2020-W54-1", err: "Invalid isoformat string: '2020-W54-1'"},
	{in: "2020-W00-1", err: "Invalid isoformat string: '2020-W00-1'"},
	{in: "2020-W25-0", err: "Invalid isoformat string: '2020-W25-0'"},
	{in: "2020-W25-8", err: "Invalid isoformat string: '2020-W25-8'"},
	{in: "9999-W52-5", iso: "9999-12-31T00:00:00"},
	{in: "9999-W52-6", err: "year 10000 is out of range"},
	// Year 0: 3.12.4+ refuses it in iso_to_ymd (see isoToYMD).
	{in: "0000-W01-1", err: "Invalid isoformat string: '0000-W01-1'"}, // 3.12.4+ (gh-117534); 3.12.1 said "month must be in 1..12"
	{in: "0000-W53-1", err: "Invalid isoformat string: '0000-W53-1'"},
	// _sanitize_isoformat_str: fewer than 7 code points.
	{in: "2099W1", err: "Invalid isoformat string: '2099W1'"},
	{in: "2099-W1", err: "Invalid isoformat string: '2099-W1'"},
	{in: "it's a date", err: `Invalid isoformat string: "it's a date"`},
}

func TestFromISOFormatCPython312(t *testing.T) {
	for _, c := range isoCases {
		d, err := FromISOFormat(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: got %v (%v), want error %s", c.in, err, d.ISOFormat(), c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v, want %s", c.in, err, c.iso)
			continue
		}
		if got := d.ISOFormat(); got != c.iso || d.OffsetFraction != c.frac {
			t.Errorf("%q: %s (fraction %v), want %s (fraction %v)", c.in, got, d.OffsetFraction, c.iso, c.frac)
		}
	}
}

// Week dates agree with Go's own ISO calendar over the whole range.
func TestFromISOFormatWeekDates(t *testing.T) {
	for day := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 10000; day = day.AddDate(0, 0, 1) {
		y, w := day.ISOWeek()
		wd := int(day.Weekday()+6)%7 + 1
		if y < 1 || y > 9999 || day.YearDay() > 10 && day.YearDay() < 355 && day.Day()%7 != 0 {
			continue // sample: the year's edges, and a day a week otherwise
		}
		in := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") + "-W" + twoDigits(w) + "-" + string(rune('0'+wd))
		d, err := FromISOFormat(in)
		if err != nil || !d.Time.Equal(day) {
			t.Fatalf("%s: %v %v, want %v", in, d.Time, err, day)
		}
	}
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

func TestReprSurrogate(t *testing.T) {
	if got := Repr("a\xed\xa0\x80b\xed\xbf\xbf"); got != `'a\ud800b\udfff'` {
		t.Errorf("Repr of surrogates: %s", got)
	}
}

// FuzzFromISOFormat checks that no input panics and that what is read prints back to the same
// instant.
func FuzzFromISOFormat(f *testing.F) {
	for _, c := range isoCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := FromISOFormat(s)
		if err != nil {
			return
		}
		back, err := FromISOFormat(d.ISOFormat())
		if err != nil || !back.Time.Equal(d.Time) || back.Aware != d.Aware {
			t.Fatalf("%q read as %s, which reads back as %v %v", s, d.ISOFormat(), back.Time, err)
		}
	})
}
