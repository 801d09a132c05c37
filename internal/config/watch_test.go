package config

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// watched is a Watcher running in a synctest bubble, with what it applied and refused.
type watched struct {
	t        *testing.T
	path     string
	mu       sync.Mutex
	applied  []Config
	rejected []error
}

// startWatching writes first, runs a watcher (checks every 500ms) that found it in force, and
// stops it when the bubble's function returns. Call it inside synctest.Test.
func startWatching(t *testing.T, first string) (*watched, *Watcher) {
	w := &watched{t: t, path: filepath.Join(t.TempDir(), "c.yaml")}
	w.write(first)
	watcher := NewWatcher(w.path, env(nil),
		func(c Config) { w.mu.Lock(); w.applied = append(w.applied, c); w.mu.Unlock() },
		func(err error) { w.mu.Lock(); w.rejected = append(w.rejected, err); w.mu.Unlock() })
	watcher.Interval = 500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go watcher.Run(ctx, []byte(first))
	synctest.Wait()
	return w, watcher
}

func (w *watched) write(content string) {
	w.t.Helper()
	if err := os.WriteFile(w.path, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// tick lets the fake clock run through n checks of the file.
func (w *watched) tick(n int) {
	for range n {
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
	}
}

func (w *watched) state() ([]Config, []error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Config(nil), w.applied...), append([]error(nil), w.rejected...)
}

// whole is state without the configurations applied for content still settling (Pending
// set): the files applied whole, and the refusals.
func (w *watched) whole() ([]Config, []error) {
	applied, rejected := w.state()
	return slices.DeleteFunc(applied, func(c Config) bool { return c.Pending != "" }), rejected
}

func TestWatcherAppliesSettledChangesAndRejectsBadFiles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, watcher := startWatching(t, "go_percent: 1\n")
		w.write("go_percent: 5\n")
		w.tick(3) // seen at the first check, settled one second later
		if applied, _ := w.whole(); len(applied) != 1 || applied[0].GoPercent != 5 || applied[0].Pending != "" {
			t.Fatalf("applied %+v", applied)
		}
		w.write("go_percent: 500\n")
		w.tick(3)
		if applied, rejected := w.whole(); len(rejected) != 1 || len(applied) != 1 {
			t.Fatalf("applied %+v rejected %v", applied, rejected)
		}
		watcher.Reload()
		synctest.Wait()
		if _, rejected := w.whole(); len(rejected) != 2 {
			t.Fatalf("Reload did not refuse the bad file again: %v", rejected)
		}
		w.write("go_percent: 25\n")
		w.tick(3)
		if applied, _ := w.whole(); len(applied) != 2 || applied[1].GoPercent != 25 {
			t.Fatalf("applied %+v", applied)
		}
	})
}

// The configuration in force put back after a refusal (a typo undone, a deleted file
// re-created) is applied again, which clears the refusal: it was taken for a file already in
// force, so the error and shadowproxy_config_valid 0 stayed until a SIGHUP.
func TestWatcherAppliesTheFileInForceAgainAfterARefusal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const good = "go_percent: 5\n"
		w, _ := startWatching(t, good)
		for i, bad := range []func(){func() { w.write("go_percent: 500\n") }, func() { os.Remove(w.path) }} {
			bad()
			w.tick(3)
			if applied, rejected := w.state(); len(rejected) != i+1 || len(applied) != i {
				t.Fatalf("case %d refused: applied %+v rejected %v", i, applied, rejected)
			}
			w.write(good)
			w.tick(1)
			if applied, _ := w.state(); len(applied) != i+1 || applied[i].GoPercent != 5 || applied[i].Pending != "" {
				t.Fatalf("case %d put back: applied %+v", i, applied)
			}
		}
		w.tick(3)
		if applied, rejected := w.state(); len(applied) != 2 || len(rejected) != 2 {
			t.Fatalf("an unchanged file is applied once: applied %d rejected %d", len(applied), len(rejected))
		}
	})
}

// A file read while being written (half its bytes) never moves traffic toward Go: not its
// django_url, not its share. The finished file applies once it has settled.
func TestWatcherNeverAppliesATruncatedFileTowardGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, _ := startWatching(t, "go_percent: 10\ndjango_url: http://django:8000\n")
		full := "go_percent: 50\ndjango_url: http://django-new.internal:8000\n"
		half := full[:strings.Index(full, "-new")] // "... django_url: http://django": valid and wrong
		w.write(half)
		w.tick(2) // seen, not settled: pending, nothing of it in force
		applied, rejected := w.state()
		if len(applied) != 1 || applied[0].Pending == "" || applied[0].GoPercent != 10 || applied[0].DjangoURL != "http://django:8000" || len(rejected) != 0 {
			t.Fatalf("a truncated file was acted on before it settled: applied %+v rejected %v", applied, rejected)
		}
		w.write(full)
		w.tick(4)
		applied, _ = w.whole()
		if len(applied) != 1 || applied[0].DjangoURL != "http://django-new.internal:8000" || applied[0].GoPercent != 50 {
			t.Fatalf("applied %+v, want only the finished file", applied)
		}
	})
}

// A new file whose kill_switch line is not written yet never turns the kill switch off.
func TestWatcherKeepsTheKillSwitchUntilTheFileSettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, _ := startWatching(t, "go_percent: 20\nkill_switch: true\n")
		w.write("go_percent: 50\n")
		w.tick(1)
		w.write("go_percent: 50\nkill_switch: true\n")
		w.tick(4)
		applied, _ := w.state() // the pending ones too
		for _, c := range applied {
			if !c.KillSwitch {
				t.Fatalf("the kill switch went off in between: %+v", applied)
			}
		}
		if applied, _ = w.whole(); len(applied) != 1 || applied[0].GoPercent != 50 {
			t.Fatalf("applied %+v, want the finished file once", applied)
		}
	})
}

// Changes toward Django apply at the first check; the rest waits for config_settle.
func TestWatcherAppliesChangesTowardDjangoAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, _ := startWatching(t, "go_percent: 50\nshadow_percent: 20\nscorer_overrides: {\"7\": go}\n")
		w.write("go_percent: 10\nshadow_percent: 5\nkill_switch: true\nheader_override: true\nscorer_overrides: {\"7\": django, \"8\": go}\n")
		w.tick(1)
		applied, _ := w.state()
		if len(applied) != 1 {
			t.Fatalf("applied %+v, want the changes toward Django at once", applied)
		}
		if c := applied[0]; c.GoPercent != 10 || c.ShadowPercent != 5 || !c.KillSwitch || c.HeaderOverride ||
			c.ScorerOverrides["7"] != RouteDjango || c.ScorerOverrides["8"] != "" || c.Pending == "" {
			t.Fatalf("safe part %+v", c)
		}
		w.tick(1)
		if applied, _ := w.state(); len(applied) != 1 {
			t.Fatalf("the rest applied before config_settle: %+v", applied)
		}
		w.tick(1)
		applied, _ = w.state()
		if c := applied[len(applied)-1]; len(applied) != 2 || !c.HeaderOverride || c.ScorerOverrides["8"] != RouteGo || c.Pending != "" {
			t.Fatalf("settled file %+v", applied)
		}
	})
}

// Content changing only toward Go is pending from the first check that sees it (it was shown
// nowhere until it applied): applied once with Pending set and nothing of it in force, then
// whole after config_settle.
func TestWatcherShowsAChangeTowardGoAsPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, _ := startWatching(t, "go_percent: 3\nconfig_settle: 6s\n")
		const next = "go_percent: 4\nconfig_settle: 6s\n"
		want, err := Parse([]byte(next), w.path, env(nil))
		if err != nil {
			t.Fatal(err)
		}
		w.write(next)
		w.tick(1)
		applied, _ := w.state()
		if len(applied) != 1 || applied[0].Pending != want.Version || applied[0].GoPercent != 3 {
			t.Fatalf("after the first check: applied %+v, want go 3 with %s pending", applied, want.Version)
		}
		w.tick(11) // 5.5 s after it was first seen
		if applied, _ := w.state(); len(applied) != 1 {
			t.Fatalf("applied again before config_settle: %+v", applied)
		}
		w.tick(1)
		applied, _ = w.state()
		if c := applied[len(applied)-1]; len(applied) != 2 || c.GoPercent != 4 || c.Pending != "" || c.Version != want.Version {
			t.Fatalf("settled: applied %+v", applied)
		}
	})
}

// An empty file (or one of comments) is refused and counted once it has settled; nothing of it
// applies.
func TestWatcherRefusesAnEmptyFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, _ := startWatching(t, "go_percent: 30\nkill_switch: true\n")
		w.write("")
		w.tick(4)
		applied, rejected := w.state()
		if len(applied) != 0 || len(rejected) != 1 || !strings.Contains(rejected[0].Error(), "sets no key") {
			t.Fatalf("applied %+v rejected %v", applied, rejected)
		}
		w.write("# being written\n")
		w.tick(4)
		if applied, rejected := w.state(); len(applied) != 0 || len(rejected) != 2 {
			t.Fatalf("applied %+v rejected %v", applied, rejected)
		}
	})
}

// config_settle comes from the configuration in force; 0 applies every change at once.
func TestWatcherSettleTimeIsASetting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, _ := startWatching(t, "config_settle: 0s\n")
		w.write("config_settle: 0s\ngo_percent: 40\n")
		w.tick(1)
		if applied, _ := w.whole(); len(applied) != 1 || applied[0].GoPercent != 40 {
			t.Fatalf("applied %+v", applied)
		}
		w.write("config_settle: 5s\ngo_percent: 60\n")
		w.tick(1)
		w.write("config_settle: 5s\ngo_percent: 70\n")
		w.tick(9)
		if applied, _ := w.whole(); len(applied) != 2 || applied[1].GoPercent != 60 {
			t.Fatalf("applied %+v", applied)
		}
		w.tick(2) // 5s after 70 was first seen
		if applied, _ := w.whole(); len(applied) != 3 || applied[2].GoPercent != 70 {
			t.Fatalf("applied %+v", applied)
		}
	})
}
