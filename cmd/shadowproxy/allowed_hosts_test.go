package main

import (
	"io"
	"slices"
	"testing"
)

// ALLOWED_HOSTS is read as Django reads it, a JSON list; unset, nil (the Host's syntax only).
func TestAllowedHostsSetting(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  []string
		fails bool
	}{
		{"", nil, false},
		{`["api.passport.xyz", ".internal.svc"]`, []string{"api.passport.xyz", ".internal.svc"}, false},
		{`[]`, []string{}, false},
		{`null`, nil, true},
		{`api.passport.xyz`, nil, true},
		{`{"a": 1}`, nil, true},
	} {
		env := map[string]string{"ALLOWED_HOSTS": tc.value}
		pc, err := loadProcessConfig(nil, func(k string) string { return env[k] }, io.Discard)
		switch {
		case tc.fails && err == nil:
			t.Errorf("%q: accepted as %v", tc.value, pc.allowedHosts)
		case !tc.fails && err != nil:
			t.Errorf("%q: %v", tc.value, err)
		case !tc.fails && (!slices.Equal(pc.allowedHosts, tc.want) || (pc.allowedHosts == nil) != (tc.want == nil)):
			t.Errorf("%q: %#v, want %#v", tc.value, pc.allowedHosts, tc.want)
		}
	}
}
