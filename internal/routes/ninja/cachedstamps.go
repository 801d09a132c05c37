package ninja

import (
	"strconv"

	"shadowproxy/internal/pycompat"
	"shadowproxy/internal/scoring"
)

// WriteCachedStamps writes a list of CachedStampResponse items (id, address, provider, stamp),
// as the ceramic-cache and embed routes answer them.
func WriteCachedStamps(w *pycompat.JSONWriter, live []scoring.LiveStamp) error {
	w.BeginArray()
	for _, s := range live {
		w.BeginObject()
		w.Key("id")
		w.Raw(strconv.FormatInt(s.ID, 10))
		w.Key("address")
		w.String(s.Address)
		w.Key("provider")
		w.String(s.Provider)
		w.Key("stamp")
		if err := w.WriteJSONValue(s.Stamp); err != nil {
			return err
		}
		w.EndObject()
	}
	w.EndArray()
	return nil
}
