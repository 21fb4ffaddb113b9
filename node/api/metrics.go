package api

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dnahost/dnahost/chain"
	"github.com/dnahost/dnahost/node"
)

// The metrics are written in the Prometheus text exposition format
// (version 0.0.4) by hand: every family has its HELP and TYPE lines, then
// its samples. No client library is needed for a flat set of counters and
// gauges.

// promContentType is the exposition format's media type.
const promContentType = "text/plain; version=0.0.4; charset=utf-8"

// nodeStages are the node's job stages, in lifecycle order.
var nodeStages = []node.Stage{node.StageSubmitted, node.StageEscrowed, node.StageAccepted, node.StageCommitted,
	node.StageRevealed, node.StageDecided, node.StageRecorded, node.StageSettled, node.StageDisputed,
	node.StageExpired, node.StageFailed}

// chainJobStates are the on-chain job states.
var chainJobStates = []chain.JobState{chain.JobCreated, chain.JobAccepted, chain.JobCompleted, chain.JobSettled,
	chain.JobDisputed, chain.JobExpired}

// promWriter builds an exposition. A family is declared once, with its
// samples following it.
type promWriter struct {
	b        bytes.Buffer
	declared map[string]bool
	current  string
}

func newPromWriter() *promWriter { return &promWriter{declared: map[string]bool{}} }

// family declares a metric family.
func (w *promWriter) family(name, typ, help string) {
	if w.declared[name] {
		panic("metrics: family " + name + " declared twice")
	}
	w.declared[name] = true
	w.current = name
	fmt.Fprintf(&w.b, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

// sample writes one sample of the current family; labels are name, value
// pairs.
func (w *promWriter) sample(v float64, labels ...string) {
	w.b.WriteString(w.current)
	if len(labels) > 0 {
		w.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.b.WriteString(labels[i])
			w.b.WriteString(`="`)
			w.b.WriteString(escapeLabel(labels[i+1]))
			w.b.WriteByte('"')
		}
		w.b.WriteByte('}')
	}
	w.b.WriteByte(' ')
	w.b.WriteString(formatValue(v))
	w.b.WriteByte('\n')
}

// one declares a family with a single unlabelled sample.
func (w *promWriter) one(name, typ, help string, v float64) {
	w.family(name, typ, help)
	w.sample(v)
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// tokensPerSecond is the node's compute speed: tokens generated over the
// time spent generating them (0 before any work).
func tokensPerSecond(m *node.Metrics) float64 {
	ns := m.ComputeNanos.Load()
	if ns == 0 {
		return 0
	}
	return float64(m.TokensGenerated.Load()) / (float64(ns) / 1e9)
}

// writeMetrics writes the node's metrics.
func writeMetrics(w *promWriter, n *node.Node) {
	m := n.Metrics()
	cfg := n.Config()

	w.family("dnahost_node_info", "gauge", "Constant 1, labelled with the node's identity.")
	net := cfg.Net
	if net == "" {
		net = "devnet"
	}
	w.sample(1, "id", n.ID().String(), "account", n.Address(n.Account()), "net", net,
		"compute", strconv.FormatBool(cfg.Compute), "mine", strconv.FormatBool(cfg.Mine))
	uptime := 0.0
	if s := n.Started(); !s.IsZero() {
		uptime = time.Since(s).Seconds()
	}
	w.one("dnahost_uptime_seconds", "gauge", "Seconds since the node started.", uptime)

	// Jobs.
	w.family("dnahost_jobs_total", "counter", "Jobs that reached a point of their lifecycle on this node since it started.")
	for _, c := range []struct {
		stage string
		v     uint64
	}{
		{"seen", m.JobsSeen.Load()}, {"computed", m.JobsComputed.Load()}, {"coordinated", m.JobsCoordinated.Load()},
		{"decided", m.JobsDecided.Load()}, {"failed", m.JobsFailed.Load()}, {"recorded", m.JobsRecorded.Load()},
		{"settled", m.JobsSettled.Load()}, {"disputed", m.JobsDisputed.Load()}, {"expired", m.JobsExpired.Load()},
	} {
		w.sample(float64(c.v), "stage", c.stage)
	}
	counts := n.JobCounts()
	w.family("dnahost_jobs", "gauge", "Jobs this node knows of, by their current stage.")
	for _, s := range nodeStages {
		w.sample(float64(counts[s]), "stage", string(s))
	}
	w.one("dnahost_tokens_generated_total", "counter", "Tokens this node generated computing jobs.", float64(m.TokensGenerated.Load()))
	w.one("dnahost_compute_seconds_total", "counter", "Seconds this node spent computing jobs.", float64(m.ComputeNanos.Load())/1e9)
	w.one("dnahost_verify_seconds_total", "counter", "Seconds this node spent verifying reveals as coordinator.", float64(m.VerifyNanos.Load())/1e9)
	w.family("dnahost_verifications_total", "counter", "Reveals this node verified as coordinator, by outcome.")
	w.sample(float64(m.Verified.Load()), "result", "verified")
	w.sample(float64(m.Refuted.Load()), "result", "refuted")
	w.one("dnahost_tokens_per_second", "gauge", "Compute speed: tokens generated over the seconds spent computing them.", tokensPerSecond(m))

	// Network.
	peers := n.Net().Peers()
	in, out := 0, 0
	for _, p := range peers {
		if p.Outbound {
			out++
		} else {
			in++
		}
	}
	w.one("dnahost_peers", "gauge", "Connected peers.", float64(len(peers)))
	w.family("dnahost_peers_by_direction", "gauge", "Connected peers by who dialled.")
	w.sample(float64(in), "direction", "inbound")
	w.sample(float64(out), "direction", "outbound")
	st := n.Net().Stats()
	for _, c := range []struct {
		name, help string
		v          uint64
	}{
		{"dnahost_gossip_received_total", "Gossip frames received.", st.GossipReceived},
		{"dnahost_gossip_duplicates_total", "Gossip frames received that had been seen already.", st.GossipDuplicates},
		{"dnahost_gossip_delivered_total", "New, valid gossip messages handed to the node.", st.GossipDelivered},
		{"dnahost_gossip_invalid_total", "Gossip messages that failed validation.", st.GossipInvalid},
		{"dnahost_gossip_sent_total", "Gossip frames sent.", st.GossipSent},
		{"dnahost_gossip_iwant_served_total", "Gossip messages served on request (IWANT).", st.IWantServed},
		{"dnahost_net_protocol_violations_total", "Protocol violations by peers.", st.ProtocolViolations},
		{"dnahost_net_bans_total", "Peers banned.", st.Bans},
		{"dnahost_net_chunks_served_total", "Bundle chunks served to peers.", st.ChunksServed},
		{"dnahost_net_chunks_fetched_total", "Bundle chunks fetched from peers.", st.ChunksFetched},
		{"dnahost_net_bad_chunks_total", "Fetched bundle chunks that failed verification.", st.BadChunks},
	} {
		w.one(c.name, "counter", c.help, float64(c.v))
	}

	// Chain.
	w.one("dnahost_blocks_mined_total", "counter", "Blocks this node mined.", float64(m.BlocksMined.Load()))
	w.one("dnahost_chain_reorgs_total", "counter", "Reorganisations of this node's best chain.", float64(m.Reorgs.Load()))
	w.one("dnahost_tx_sent_total", "counter", "Transactions this node signed and sent.", float64(m.TxSent.Load()))
	w.one("dnahost_mempool_txs", "gauge", "Transactions in the mempool.", float64(n.Mempool().Len()))
	c := n.Chain()
	if c == nil {
		return
	}
	tip := c.Tip()
	w.one("dnahost_chain_height", "gauge", "Height of the best chain's tip.", float64(tip.Height))
	w.one("dnahost_chain_tip_timestamp_seconds", "gauge", "Timestamp of the tip block (unix seconds).", float64(tip.Timestamp)/1000)
	if s, err := c.Supply(); err == nil {
		w.family("dnahost_chain_supply_units", "gauge", "Coins minted and burned on the best chain, in base units.")
		w.sample(float64(s.Minted), "kind", "minted")
		w.sample(float64(s.Burned), "kind", "burned")
	}
	if jc, err := c.JobCounts(); err == nil {
		w.family("dnahost_chain_jobs", "gauge", "Jobs on the best chain, by on-chain state.")
		for _, s := range chainJobStates {
			w.sample(float64(jc[s]), "state", s.String())
		}
	}
	if pm := c.StoreMetrics(); pm != nil {
		tot := pm.Total()
		w.one("dnahost_chain_store_write_amplification", "gauge", "Write amplification of the chain store's LSM (pebble: bytes flushed and compacted over bytes ingested).", tot.WriteAmp())
		w.one("dnahost_chain_store_read_amplification", "gauge", "Read amplification of the chain store's LSM (sublevels a read may touch).", float64(pm.ReadAmp()))
		w.one("dnahost_chain_store_disk_bytes", "gauge", "Disk space the chain store uses.", float64(pm.DiskSpaceUsage()))
		w.one("dnahost_chain_store_wal_bytes_written_total", "counter", "Bytes the chain store wrote to its write-ahead log.", float64(pm.WAL.BytesWritten))
		w.one("dnahost_chain_store_flushes_total", "counter", "Memtable flushes of the chain store.", float64(pm.Flush.Count))
		w.one("dnahost_chain_store_compactions_total", "counter", "Compactions of the chain store.", float64(pm.Compact.Count))
	}
}

// metricsHandler serves GET /metrics.
func metricsHandler(n *node.Node) http.HandlerFunc {
	return func(rw http.ResponseWriter, _ *http.Request) {
		w := newPromWriter()
		writeMetrics(w, n)
		rw.Header().Set("Content-Type", promContentType)
		rw.Header().Set("Cache-Control", "no-store")
		_, _ = rw.Write(w.b.Bytes())
	}
}
