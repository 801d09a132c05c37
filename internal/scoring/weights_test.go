package scoring

import "testing"

// A weights text is parsed once and its parse shared: a customization merged into one
// request's weights never reaches another request that read the same text.
func TestMergedWeightsStayWithTheirRequest(t *testing.T) {
	text := `{"Google": 1, "AllowList#VIPs": 1}`
	first, err := parseWeights(text)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.merge([]customWeight{{Key: "AllowList#VIPs", Weight: "2.5000"}, {Key: "NFTHolder#X#1", Weight: "0.1234"}}); err != nil {
		t.Fatal(err)
	}
	second, err := parseWeights(text)
	if err != nil {
		t.Fatal(err)
	}
	for provider, want := range map[string]string{"AllowList#VIPs": "1", "NFTHolder#X#1": "0", "Google": "1"} {
		got, err := second.weight(provider)
		if err != nil || got.String() != want {
			t.Errorf("second request's weight of %s: %v %v, want %s", provider, got, err, want)
		}
	}
	for provider, want := range map[string]string{"AllowList#VIPs": "2.5000", "NFTHolder#X#1": "0.1234"} {
		if got, err := first.weight(provider); err != nil || got.String() != want {
			t.Errorf("first request's weight of %s: %v %v, want %s", provider, got, err, want)
		}
	}
	if _, err := parseWeights(`{"Google": `); err == nil {
		t.Error("a truncated weights text parsed")
	}
}
