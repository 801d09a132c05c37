package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"shadowproxy/internal/config"
	"shadowproxy/internal/proxy"
)

// configSource is the rollout configuration's file as `serve` reads it: loaded once at start,
// then kept current by a watcher.
type configSource struct {
	path    string
	watcher *config.Watcher // nil without a file
	start   []byte          // the file's content at start; nil when it could not be read
}

// loadRollout loads the configuration at start, with the environment environ (os.Environ's
// "KEY=value" pairs), and counts the result. A refused one fails closed: Django answers
// everything until a valid one arrives.
func loadRollout(path string, environ []string, metrics *proxy.Metrics, logger *zap.Logger) (*proxy.Rollout, *configSource) {
	src := &configSource{path: path}
	var cfg config.Config
	var err error
	if path == "" {
		cfg, err = config.Load("", environ)
	} else if src.start, err = os.ReadFile(path); err != nil {
		err = fmt.Errorf("read config: %w", err)
	} else {
		cfg, err = config.Parse(src.start, path, environ)
	}
	metrics.ConfigLoaded(err)
	if err != nil {
		logger.Error("configuration refused: serving every request from Django", zap.Error(err))
		cfg = config.FailClosed(environ)
	}
	rollout := proxy.NewRollout(cfg, err)
	if path != "" {
		src.watcher = config.NewWatcher(path, environ,
			func(c config.Config) {
				if c.Pending == "" {
					metrics.ConfigLoaded(nil)
				} else {
					metrics.ConfigSettling()
				}
				s := rollout.ApplyConfig(c)
				msg := "configuration applied"
				if c.Pending != "" {
					msg = "configuration settling: only its changes toward Django, if any, apply until the file is unchanged for config_settle"
				}
				logSnapshot(logger, msg, s)
			},
			func(err error) {
				metrics.ConfigLoaded(err)
				rollout.RejectConfig(err)
				logger.Error("configuration rejected: the last good one stays in force", zap.Error(err), zap.String("config_version", rollout.Load().Version))
			})
	}
	return rollout, src
}

// watch keeps the configuration current until ctx ends; SIGHUP reloads the file at once.
func (src *configSource) watch(ctx context.Context) {
	if src.watcher == nil {
		return
	}
	go src.watcher.Run(ctx, src.start)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				src.watcher.Reload()
			}
		}
	}()
}
