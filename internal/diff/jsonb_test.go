package diff

import "testing"

// NumericText is what PostgreSQL 15 prints for these literals read as jsonb (the table was
// checked once against SELECT $1::jsonb::text on a pgtest cluster).
func TestNumericTextIsJSONBs(t *testing.T) {
	for in, want := range map[string]string{
		"1e-05": "0.00001", "1E+2": "100", "1.5e2": "150", "1.50": "1.50", "-0.0": "0.0", "0": "0", "-0": "0",
		"1e16": "10000000000000000", "2.5e-3": "0.0025", "-1.25E-1": "-0.125", "12345.678e1": "123456.78",
		"0.000": "0.000", "100": "100", "-7": "-7", "1.0e0": "1.0",
	} {
		if got := NumericText(in); got != want {
			t.Errorf("NumericText(%s) = %s, want %s", in, got, want)
		}
	}
	if got := CanonicalJSONB([]byte(`{"b": [1e-05, "1e-05"], "a": -0.0}`)); got != `{"a":0.0,"b":[0.00001,"1e-05"]}` {
		t.Errorf("CanonicalJSONB: %s", got)
	}
}
