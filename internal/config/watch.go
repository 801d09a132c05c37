package config

import (
	"bytes"
	"context"
	"os"
	"time"
)

// Watcher reloads the configuration file when its content changes (checked every Interval)
// or when Reload is called (on SIGHUP). A file that fails to load or validate is rejected and
// the last good configuration stays in force.
type Watcher struct {
	Path   string
	Getenv func(string) string
	// Interval between checks of the file; zero means one second.
	Interval time.Duration
	// Apply receives each new valid configuration.
	Apply func(Config)
	// Reject receives the error of each file that could not be applied.
	Reject func(error)

	reload chan struct{}
	last   []byte
}

// Reload asks the watcher to load the file now, even if it did not change.
func (w *Watcher) Reload() {
	select {
	case w.reload <- struct{}{}:
	default:
	}
}

// Run watches until ctx ends. last is the content of the file already applied (nil if none).
func (w *Watcher) Run(ctx context.Context, last []byte) {
	if w.reload == nil {
		w.reload = make(chan struct{}, 1)
	}
	w.last = last
	interval := w.Interval
	if interval == 0 {
		interval = time.Second
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

// NewWatcher returns a watcher ready for Reload calls before Run starts.
func NewWatcher(path string, getenv func(string) string, apply func(Config), reject func(error)) *Watcher {
	return &Watcher{Path: path, Getenv: getenv, Apply: apply, Reject: reject, reload: make(chan struct{}, 1)}
}

func (w *Watcher) check(force bool) {
	content, err := os.ReadFile(w.Path)
	if err != nil {
		if force || w.last != nil {
			w.Reject(err)
			w.last = nil
		}
		return
	}
	if !force && bytes.Equal(content, w.last) {
		return
	}
	w.last = content
	c, err := Load(w.Path, w.Getenv)
	if err != nil {
		w.Reject(err)
		return
	}
	w.Apply(c)
}
