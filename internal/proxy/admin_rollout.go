package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"shadowproxy/internal/config"
)

// ChangeAnswer is the answer of a change to the rollout: the status after it, the changes
// recorded, whether they were stored in the shared state, and for every route whose Go share
// cannot take what was asked, the effective value and the reason.
type ChangeAnswer struct {
	RolloutStatus
	Changes []Change `json:"changes"`
	Stored  bool     `json:"stored"`
	Held    []string `json:"held,omitempty"`
	Warning string   `json:"warning,omitempty"`
}

// control is the Control of the admin API; Handler gives a process-only one to an Admin
// without.
func (a *Admin) control() *Control { return a.Control }

// adminState says whether this replica's admin layer is the cluster's: "shared" (read from
// the database), "process" (no database: this process only), or why it is not.
func (a *Admin) adminState(s *Snapshot) string {
	switch {
	case s.AdminUnknown != "":
		return "unread: " + s.AdminUnknown
	case a.Control == nil || a.Control.Pool == nil:
		return "process"
	case a.Control.ReadError() != "":
		return "stale: " + a.Control.ReadError()
	}
	return "shared"
}

// shareReason says why a route's effective Go share is what it is.
func shareReason(r *RouteState, b BreakerState) string {
	switch {
	case r.Unavailable != "":
		return r.Unavailable
	case r.KillSwitch:
		return "kill switch (" + r.Sources["kill_switch"] + ")"
	case r.GateTripped != "":
		return "gate trip: " + r.GateTripped
	case r.GatesUnread:
		return "gates unread: the shared gate state has not been read yet, so a trip may be in force"
	case b.State == "open":
		return "breaker open: Go is out until its cooldown ends"
	}
	switch src := r.Sources["go_percent"]; src {
	case SourceLadder:
		return fmt.Sprintf("ladder step %d (counted from 1)", r.RampStep+1)
	case config.SourceAdmin:
		return "admin override"
	case config.SourceSettling:
		return "settling: the lower share of file content not yet in force (config_pending)"
	default:
		return src
	}
}

// shadowShare is the share of a route's Django-served requests that run in shadow, and why: the
// kill switch stops every shadow (no Go code runs); a red gate only sets Go's share to 0, so
// every request is Django-served and shadow_percent of them still run in shadow; with the
// breaker open, the requests Go's share would take go to Django without a shadow. A route
// unavailable with this process's settings runs none: it takes no request to shadow.
func shadowShare(r *RouteState, b BreakerState) (float64, string) {
	switch {
	case r.Unavailable != "":
		return 0, r.Unavailable
	case r.KillSwitch:
		return 0, "kill switch (" + r.Sources["kill_switch"] + "): no shadow runs"
	case r.ShadowPercent == 0:
		return 0, r.Sources["shadow_percent"]
	case r.GateTripped != "":
		return r.ShadowPercent, r.Sources["shadow_percent"] + "; not held by the gate trip (it holds Go's share only): Django serves every request, and this share of them runs in shadow"
	case b.State == "open":
		return r.ShadowPercent, r.Sources["shadow_percent"] + "; breaker open: the requests of Go's share go to Django without a shadow"
	}
	return r.ShadowPercent, r.Sources["shadow_percent"]
}

func (a *Admin) putRollout(w http.ResponseWriter, r *http.Request) {
	var o Overrides
	var routeName, comment, dialect *string
	fields := overrideFields(&o)
	fields["route"] = &routeName
	fields["comment"] = &comment
	fields["dialect"] = &dialect // refused below, with why
	const keys = "go_percent, shadow_percent, kill_switch or scorer_overrides"
	if err := decodeAdminBody(w, r, fields, "one JSON object with any of "+keys+", and optionally route and comment"); err != nil {
		if errors.Is(err, errEmptyBody) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body is empty: give " + keys})
		}
		return
	}
	if dialect != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": dialectRefusal(routeName, *dialect)})
		return
	}
	if o.empty() {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "nothing to change: give " + keys})
		return
	}
	scope := ""
	if routeName != nil {
		scope = *routeName
	}
	if _, err := (AdminLayer{}).With(scope, o); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	note := ""
	if comment != nil {
		note = *comment
	}
	_, changes, err := a.control().Change(r.Context(), who(r), note, func(l AdminLayer) (AdminLayer, error) { return l.With(scope, o) })
	answer := ChangeAnswer{Changes: changes, Stored: err == nil}
	switch {
	case errors.Is(err, ErrSharedStateUnreachable) && o.KillSwitch != nil && *o.KillSwitch:
		// The safe direction needs no agreement: obey here at once, store when possible.
		s := a.control().KillLocally(scope, who(r), note)
		a.changed(s, "kill switch given to this replica alone: the shared state is unreachable")
		answer.Warning = "the shared state is unreachable (" + err.Error() + "): this replica obeys the kill switch now and stores it for every replica once the database answers; nothing else was changed"
	case errors.Is(err, ErrSharedStateUnreachable) && errors.Is(err, context.DeadlineExceeded):
		// The transaction may have committed with its answer lost.
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error() + ": the shared state did not answer in time, so the change may or may not be stored; /admin/rollout/history says (only a kill switch applies without the database)"})
		return
	case errors.Is(err, ErrSharedStateUnreachable):
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error() + ": nothing was changed (only a kill switch applies without the database)"})
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s := a.Rollout.Load()
	if err == nil {
		a.changed(s, "admin change by "+who(r)+" ("+describeChanges(changes)+")")
	}
	answer.RolloutStatus = a.status(s)
	answer.Held = held(answer.RolloutStatus, scope, o)
	writeJSON(w, http.StatusOK, answer)
}

// dialectRefusal is why PUT /admin/rollout refuses a dialect: one the route does not have
// (naming the ones it has), or any, since a route's dialect is the configuration's (the answers
// Django behind the proxy gives do not change at an operator's word).
func dialectRefusal(routeName *string, dialect string) string {
	const where = "a route's dialect is set in the configuration (routes.NAME.dialect or SHADOWPROXY_ROUTE_<NAME>_DIALECT), not through the admin API"
	if routeName == nil || !slices.Contains(config.RouteNames, *routeName) {
		return where
	}
	if _, err := config.ParseRouteDialect(*routeName, dialect); err != nil {
		return err.Error() + "; " + where
	}
	return where
}

// held lists the routes of the scope whose effective share is not the go_percent or
// shadow_percent asked: below it, Go's under the kill switch or a red gate, the shadow's under
// the kill switch (a red gate does not hold it); above it, a route that keeps its own share
// (file, environment, ladder, its admin override) when the global one is set; and those whose
// kill switch stays on although it was asked off (another source turns it on).
func held(st RolloutStatus, scope string, o Overrides) []string {
	var out []string
	heldShare := func(name, key string, asked *float64, share float64, reason string) {
		if asked == nil || share == *asked {
			return
		}
		if share > *asked {
			reason = "the route's own value wins over the global one: " + reason
		}
		out = append(out, fmt.Sprintf("%s: %s %s is stored, but the effective share is %s: %s",
			name, key, strconv.FormatFloat(*asked, 'f', -1, 64), strconv.FormatFloat(share, 'f', -1, 64), reason))
	}
	for _, rt := range st.Routes {
		if scope != "" && scope != rt.Name {
			continue
		}
		heldShare(rt.Name, "go_percent", o.GoPercent, rt.GoShare, rt.ShareReason)
		heldShare(rt.Name, "shadow_percent", o.ShadowPercent, rt.ShadowShare, rt.ShadowReason)
		if o.KillSwitch != nil && !*o.KillSwitch && rt.KillSwitch {
			out = append(out, fmt.Sprintf("%s: kill_switch false is stored, but the kill switch stays on: %s", rt.Name, killAdvice(rt.Sources["kill_switch"])))
		}
	}
	return out
}

// killAdvice says where a kill switch in force comes from and what turns it off.
func killAdvice(source string) string {
	switch source {
	case config.SourceFile:
		return "the configuration file sets it (kill_switch); remove it there, then reload (SIGHUP) or wait for the file to settle"
	case config.SourceEnv:
		return "the environment sets it (SHADOWPROXY_KILL_SWITCH or the route's); unset it and restart"
	case SourceLocal:
		return "it was given to this replica while the shared state was unreachable; resume once the database answers"
	case SourceUnread:
		return "the shared admin state has not been read yet (database unreachable?)"
	case config.SourceAdmin:
		return "an admin kill switch (global or the route's) is on; find why in the history, then resume that scope"
	case config.SourceSettling:
		return "newer file content sets it (kill_switch) and applied it at once, before settling; remove it there, then reload (SIGHUP) or wait for the file to settle"
	case config.SourceFailClosed:
		return "the configuration could not be loaded (see config_error); fix the file, then reload (SIGHUP) or wait for it to settle"
	}
	return "source " + source
}

func describeChanges(changes []Change) string {
	if len(changes) == 0 {
		return "no change"
	}
	parts := make([]string, len(changes))
	for i, ch := range changes {
		parts[i] = fmt.Sprintf("%s %s: %s -> %s", ch.Scope, ch.Key, ch.From, ch.To)
	}
	return strings.Join(parts, "; ")
}

// clearOverrides drops the admin layer of the cluster; optional body {"comment": "..."}.
func (a *Admin) clearOverrides(w http.ResponseWriter, r *http.Request) {
	var comment *string
	if err := decodeAdminBody(w, r, map[string]any{"comment": &comment}, `empty or {"comment": "..."}`); err != nil && !errors.Is(err, errEmptyBody) {
		return
	}
	note := ""
	if comment != nil {
		note = *comment
	}
	_, changes, err := a.control().Change(r.Context(), who(r), note, func(AdminLayer) (AdminLayer, error) { return AdminLayer{}, nil })
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error() + ": nothing was changed"})
		return
	}
	s := a.Rollout.Load()
	a.changed(s, "admin overrides cleared by "+who(r))
	writeJSON(w, http.StatusOK, ChangeAnswer{RolloutStatus: a.status(s), Changes: changes, Stored: true})
}

// history lists the recorded changes, newest first (?limit=, default 100).
func (a *Admin) history(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit must be between 1 and 10000"})
			return
		}
		limit = n
	}
	changes, err := a.control().History(r.Context(), limit)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	if changes == nil {
		changes = []Change{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": changes})
}
