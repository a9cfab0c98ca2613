package web

import (
	"net/http"
)

func (s *server) page(w http.ResponseWriter, r *http.Request) {
	sc := s.lab.Scenario()
	d := PageData{Version: s.opts.Version, Builtins: builtinSummaries(), Scenario: sc}
	if sc != nil {
		d.Current = sc.Name
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := Page(d).Render(r.Context(), w); err != nil {
		s.opts.Logger.Warn("web: rendering the page", "err", err)
	}
}
