package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/dnahost/dnahost/node"
)

// registerOps adds the operator's endpoints to mux:
//
//	GET /metrics         Prometheus text exposition (metrics.go)
//	GET /healthz         200 "ok" while the process serves
//	GET /readyz          200 when the node has a peer (or runs alone by
//	                     config: no seeds) and its chain store is open;
//	                     503 with the reasons otherwise
//	GET /                the dashboard, a single page (dashboard.go)
//	GET /ui/...          its script and style sheet
//	GET /api/dashboard   one JSON snapshot of everything the page shows
func registerOps(mux *http.ServeMux, n *node.Node) {
	mux.Handle("GET /metrics", metricsHandler(n))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		rd := readiness(n)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !rd.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(rd)
	})
	registerDashboard(mux, n)
}

// readyState is /readyz's answer.
type readyState struct {
	Ready   bool     `json:"ready"`
	Reason  string   `json:"reason,omitempty"` // the reasons, joined
	Reasons []string `json:"reasons,omitempty"`
	Peers   int      `json:"peers"`
	Seeds   int      `json:"seeds"`
	Height  uint64   `json:"height"`
}

// readiness says whether the node can serve: its chain store is open, it
// has started, and it has a peer unless it was configured with no seeds
// (a node alone by design, such as a one-node devnet).
func readiness(n *node.Node) readyState {
	rd := readyState{Seeds: len(n.Config().Seeds)}
	if n.Started().IsZero() {
		rd.Reasons = append(rd.Reasons, "node not started")
	}
	if c := n.Chain(); c == nil || c.StoreMetrics() == nil {
		rd.Reasons = append(rd.Reasons, "chain store closed")
	} else {
		rd.Height = c.Tip().Height
	}
	if nt := n.Net(); nt != nil {
		rd.Peers = len(nt.Peers())
	}
	if rd.Peers == 0 && rd.Seeds > 0 {
		rd.Reasons = append(rd.Reasons, fmt.Sprintf("no peers connected (%d seeds configured)", rd.Seeds))
	}
	rd.Ready = len(rd.Reasons) == 0
	for i, r := range rd.Reasons {
		if i > 0 {
			rd.Reason += "; "
		}
		rd.Reason += r
	}
	return rd
}
