package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A failed start is posted to the Runtime API's init error path with its reason and type,
// as a custom runtime must before exiting; an unset DATABASE_URL is such a failure.
func TestFailedStartIsReportedToTheRuntimeAPI(t *testing.T) {
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
		w.WriteHeader(http.StatusAccepted)
	}))
	defer api.Close()
	_, err := newHandler(context.Background(), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL is not set") {
		t.Fatalf("start without DATABASE_URL: %v", err)
	}
	if rerr := reportInitError(strings.TrimPrefix(api.URL, "http://"), err); rerr != nil {
		t.Fatal(rerr)
	}
	r, body := <-got, <-bodies
	var doc struct{ ErrorMessage, ErrorType string }
	if r.Method != http.MethodPost || r.URL.Path != "/2018-06-01/runtime/init/error" || r.Header.Get("Lambda-Runtime-Function-Error-Type") != "Runtime.InitError" ||
		json.Unmarshal(body, &doc) != nil || doc.ErrorMessage != err.Error() || doc.ErrorType != "Runtime.InitError" {
		t.Fatalf("%s %s %v %s", r.Method, r.URL.Path, r.Header, body)
	}
	if reportInitError("", errors.New("x")) != nil {
		t.Fatal("outside Lambda there is nothing to report to")
	}
}
