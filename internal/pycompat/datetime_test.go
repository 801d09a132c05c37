package pycompat

import (
	"testing"
	"time"
)

// Expected strings come from CPython: datetime.fromisoformat(s).isoformat() and
// DjangoJSONEncoder().default(datetime.fromisoformat(s)).
func TestISOFormatRoundTrip(t *testing.T) {
	cases := []struct{ in, iso, django string }{
		{"2099-02-21T15:30:51.720Z", "2099-02-21T15:30:51.720000+00:00", "2099-02-21T15:30:51.720Z"},
		{"2099-02-21T15:30:51Z", "2099-02-21T15:30:51+00:00", "2099-02-21T15:30:51Z"},
		{"2099-02-21T15:30:51.123456789+02:00", "2099-02-21T15:30:51.123456+02:00", "2099-02-21T15:30:51.123+02:00"},
		{"2099-02-21 15:30", "2099-02-21T15:30:00", "2099-02-21T15:30:00"},
		{"20990221T153051-0530", "2099-02-21T15:30:51-05:30", "2099-02-21T15:30:51-05:30"},
		{"2099-02-21", "2099-02-21T00:00:00", "2099-02-21T00:00:00"},
	}
	for _, c := range cases {
		d, err := FromISOFormat(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := d.ISOFormat(); got != c.iso {
			t.Errorf("%s: isoformat %s, want %s", c.in, got, c.iso)
		}
		if got := d.DjangoJSON(); got != c.django {
			t.Errorf("%s: django %s, want %s", c.in, got, c.django)
		}
	}
}

func TestFromISOFormatRejects(t *testing.T) {
	for _, in := range []string{"", "tomorrow", "2099-13-01T00:00:00Z", "2099-02-30", "2099-02-21T25:00:00Z", "2099-02-21T10:00:00+5"} {
		if _, err := FromISOFormat(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	_, err := FromISOFormat("it's")
	if want := `Invalid isoformat string: "it's"`; err == nil || err.Error() != want {
		t.Errorf("error text %v, want %s", err, want)
	}
}

func TestNaiveVersusAware(t *testing.T) {
	d, _ := FromISOFormat("2099-02-21T15:30:51")
	if d.Aware {
		t.Fatal("no offset must give a naive datetime")
	}
	u := UTCDateTime(time.Date(2023, 1, 11, 16, 35, 23, 938006000, time.UTC))
	if got := u.ISOFormat(); got != "2023-01-11T16:35:23.938006+00:00" {
		t.Fatalf("utc isoformat %s", got)
	}
}
