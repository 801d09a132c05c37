package config

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"time"
)

// Watcher keeps the rollout configuration in step with its file, which is checked every
// Interval and on Reload (SIGHUP), and is never half-applied:
//
//   - New content is a candidate from the check that first sees it. While it is unchanged,
//     and valid, it is pending (Config.Pending) and its changes toward Django (TowardDjango),
//     if any, apply at once; the whole of it
//     applies once the same bytes have been seen for config_settle (of the configuration in
//     force), so a file caught mid-write can pull traffic toward Django but never push it
//     toward Go.
//   - A candidate that cannot be read or does not validate changes nothing; once it has stayed
//     the same for config_settle it is refused (Reject) and the last good configuration stays.
//   - The content in force put back after a refusal applies again at once, which clears the
//     refusal (nothing else changes).
//   - Reload treats the file's content as settled at once: the operator says it is complete.
type Watcher struct {
	Path string
	// Environ is the environment the configuration is built with: os.Environ's "KEY=value" pairs.
	Environ []string
	// Interval between checks of the file; zero means half a second.
	Interval time.Duration
	// Apply receives each configuration to put in force: the whole file's (Pending empty) or,
	// once for each valid candidate still settling, the configuration in force with only that
	// candidate's changes toward Django, if any (Pending set).
	Apply func(Config)
	// Reject receives the error of each settled file that could not be applied.
	Reject func(error)

	reload   chan struct{}
	inForce  Config    // what the watcher last put in force (or found in force at start)
	wholeKey string    // key of the content whose whole configuration is in force; "" if none
	cand     candidate // the content last seen
	refused  bool      // a file was refused since the configuration in force was applied
}

// candidate is one content of the file, from the check that first saw it.
type candidate struct {
	key   string
	since time.Time
	cfg   Config
	err   error
	done  bool // applied in full or refused: nothing more to do until the content changes
	// inForce: the content whose whole configuration is in force, back after a refusal; it
	// applies at once (nothing changes but the refusal, which it clears).
	inForce bool
}

// NewWatcher returns a watcher ready for Reload calls before Run starts.
func NewWatcher(path string, environ []string, apply func(Config), reject func(error)) *Watcher {
	return &Watcher{Path: path, Environ: environ, Apply: apply, Reject: reject, reload: make(chan struct{}, 1)}
}

// Reload asks the watcher to load the file now and apply it whole, even if it did not change.
func (w *Watcher) Reload() {
	select {
	case w.reload <- struct{}{}:
	default:
	}
}

// Run watches until ctx ends. last is the file's content the caller applied, or refused, at
// start (nil when the file could not be read); a refused one left FailClosed in force.
func (w *Watcher) Run(ctx context.Context, last []byte) {
	if w.reload == nil {
		w.reload = make(chan struct{}, 1)
	}
	w.cand = candidate{key: contentKey(last, last == nil), done: true}
	if cfg, err := Parse(last, w.Path, w.Environ); last != nil && err == nil {
		w.inForce, w.wholeKey = cfg, w.cand.key
	} else {
		w.inForce = FailClosed(w.Environ)
	}
	interval := w.Interval
	if interval == 0 {
		interval = 500 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.check(false)
		case <-w.reload:
			w.check(true)
		}
	}
}

// contentKey identifies a content of the file; every unreadable state shares one key.
func contentKey(content []byte, unreadable bool) string {
	if unreadable {
		return "unreadable"
	}
	return fmt.Sprintf("%x", sha256.Sum256(content))
}

func (w *Watcher) check(force bool) {
	now := time.Now()
	content, readErr := os.ReadFile(w.Path)
	key := contentKey(content, readErr != nil)
	if force || key != w.cand.key {
		back := !force && key == w.wholeKey
		w.cand = candidate{key: key, since: now, done: back && !w.refused, inForce: back}
		if readErr != nil {
			w.cand.err = fmt.Errorf("read config: %w", readErr)
		} else {
			w.cand.cfg, w.cand.err = Parse(content, w.Path, w.Environ)
		}
	}
	c := &w.cand
	if c.done {
		return
	}
	settled := force || c.inForce || now.Sub(c.since) >= w.inForce.ConfigSettle
	switch {
	case !settled && c.err == nil:
		if safe, changed := TowardDjango(w.inForce, c.cfg); changed {
			w.inForce, w.wholeKey = safe, ""
			w.Apply(safe)
		}
		return
	case !settled:
		return
	case c.err != nil:
		w.Reject(c.err)
		w.refused = true
	default:
		w.inForce, w.wholeKey, w.refused = c.cfg, key, false
		w.Apply(c.cfg)
	}
	c.done = true
}
