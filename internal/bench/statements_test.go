package bench

import (
	"bytes"
	"testing"
)

// A recorded statement owns its byte arguments, lists of them included (the credentials a
// write sends again): the scorer reuses the storage of the credentials it read once its
// request ends, and the statement is rendered after that.
func TestRecordedArgumentsOwnTheirBytes(t *testing.T) {
	credential, other := []byte(`{"a": 1}`), []byte(`{"b": 2}`)
	args := ownArgs([]any{credential, [][]byte{other, nil}, "text", int64(7)})
	copy(credential, "XXXXXXXX")
	copy(other, "XXXXXXXX")
	if got := args[0].([]byte); !bytes.Equal(got, []byte(`{"a": 1}`)) {
		t.Fatalf("a byte argument follows its source: %q", got)
	}
	list := args[1].([][]byte)
	if !bytes.Equal(list[0], []byte(`{"b": 2}`)) || list[1] != nil {
		t.Fatalf("a list of byte arguments follows its sources: %q", list)
	}
	if args[2] != "text" || args[3] != int64(7) {
		t.Fatalf("other arguments changed: %v", args[2:])
	}
}
