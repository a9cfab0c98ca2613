package web

import (
	"net/http"
)

// initialScenario is embedded in the page so the first paint needs no
// round trip; epoch and rev order it against later WebSocket
// announcements.
type initialScenario struct {
	Scenario any    `json:"scenario"`
	Rev      uint64 `json:"rev"`
	Epoch    string `json:"epoch"`
}

func (s *server) page(w http.ResponseWriter, r *http.Request) {
	sc, rev := s.current()
	d := PageData{Version: s.opts.Version, Builtins: builtinSummaries(), Scenario: initialScenario{Scenario: sc, Rev: rev, Epoch: s.epoch}}
	if sc != nil {
		d.Current = sc.Name
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := Page(d).Render(r.Context(), w); err != nil {
		s.opts.Logger.Warn("web: rendering the page", "err", err)
	}
}
