package main

import "go.uber.org/zap"

// newLogger is serve's logger: zap's production JSON lines on stderr, without the stack traces
// zap adds to Error lines. Those show where the log call sits, which the message already says;
// a configuration refused or a listener that cannot bind is an operator's problem, not a bug.
func newLogger() (*zap.Logger, error) {
	cfg := zap.NewProductionConfig()
	cfg.DisableStacktrace = true
	return cfg.Build()
}
