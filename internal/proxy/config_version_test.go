package proxy

import (
	"strings"
	"testing"

	"shadowproxy/internal/config"
)

// config_version names the state in force, not this process's history: two replicas applying
// the same file and the same shared admin layer show one version (it counted this process's
// admin changes: "file-v1+admin2" beside "file-v1+admin1"), and another layer another.
func TestConfigVersionIsTheSameForOneSharedState(t *testing.T) {
	cfg := config.Defaults()
	cfg.Version = "file-v1"
	oldReplica, newReplica := NewRollout(cfg, nil), NewRollout(cfg, nil)
	l1, _ := AdminLayer{}.With("", Overrides{GoPercent: ptrTo(1.0)})
	l2, _ := l1.With("", Overrides{GoPercent: ptrTo(5.0)})
	oldReplica.SetAdmin(l1) // it saw the first change too
	oldReplica.SetAdmin(l2)
	newReplica.SetAdmin(l2) // started after both changes
	a, b := oldReplica.Load().Version, newReplica.Load().Version
	if a != b || !strings.HasPrefix(a, "file-v1+admin-") {
		t.Errorf("one shared state, versions %q and %q", a, b)
	}
	if v1 := NewRollout(cfg, nil).SetAdmin(l1).Version; v1 == a {
		t.Errorf("two admin layers, one version %q", v1)
	}
	if v := NewRollout(cfg, nil).Load().Version; v != "file-v1" {
		t.Errorf("no admin layer: version %q", v)
	}
}
