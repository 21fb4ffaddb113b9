package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dnahost/dnahost/bundle"
	"github.com/dnahost/dnahost/consensus"
	"github.com/dnahost/dnahost/consensus/verify"
	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/merkle"
	"github.com/dnahost/dnahost/netq"
	"github.com/dnahost/dnahost/node/bundlestore"
	"github.com/dnahost/dnahost/node/proto"
	"github.com/dnahost/dnahost/runtime"
)

// ErrNoBundle reports a bundle neither held nor fetchable.
var ErrNoBundle = errors.New("node: bundle not available")

// bundleSource is what an announcement told us about a bundle we lack.
type bundleSource struct {
	ann   proto.BundleAnnounce
	peers map[netq.PeerID]bool
}

func objectsOf(n *Node) netq.ObjectStore { return bundlestore.Objects{S: n.bundles} }

// Publish stores a bundle (read from r as a .dna container) and announces
// it; other nodes fetch it when a job needs it.
func (n *Node) Publish(r io.Reader, size int64) (bundlestore.Info, error) {
	b, err := bundle.Read(r, size, bundle.ReadOptions{})
	if err != nil {
		return bundlestore.Info{}, err
	}
	return n.PublishBundle(b)
}

// PublishBundle stores and announces a verified bundle.
func (n *Node) PublishBundle(b *bundle.Bundle) (bundlestore.Info, error) {
	if err := n.bundles.Put(b); err != nil {
		return bundlestore.Info{}, err
	}
	n.modelsMu.Lock()
	n.names[b.Manifest().Name] = b.ID()
	n.modelsMu.Unlock()
	n.announceBundle(b)
	n.log.Info("bundle published", "name", b.Manifest().Name, "root", b.ID().String()[:16], "bytes", b.Size())
	return bundlestore.InfoOf(b), nil
}

func (n *Node) announceBundle(b *bundle.Bundle) {
	a := proto.BundleAnnounce{Root: b.ID(), Signature: b.Signature(), Name: b.Manifest().Name,
		Size: uint64(b.Size()), Chunks: uint32(len(b.Leaves())), At: time.Now().UnixMilli()}
	if err := n.net.Publish(netq.TopicBundles, a.Encode()); err != nil {
		n.log.Debug("announce bundle", "err", err)
	}
}

// announceBundlesLoop re-announces held bundles now and then, so nodes that
// joined later learn where to fetch them (each announcement carries its
// time, so gossip does not take it for the previous one).
func (n *Node) announceBundlesLoop() {
	t := time.NewTicker(20 * time.Second)
	defer t.Stop()
	first := time.After(2 * time.Second)
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-first:
		case <-t.C:
		}
		infos, err := n.bundles.List()
		if err != nil {
			continue
		}
		for _, in := range infos {
			b, err := n.bundles.Get(in.Root)
			if err != nil {
				continue
			}
			n.modelsMu.Lock()
			n.names[in.Name] = in.Root
			n.modelsMu.Unlock()
			n.announceBundle(b)
		}
	}
}

func (n *Node) onBundleAnnounce(from netq.PeerID, b []byte) {
	a, err := proto.DecodeBundleAnnounce(b)
	if err != nil {
		n.net.Penalize(from, -5, "bad bundle announcement")
		return
	}
	n.modelsMu.Lock()
	defer n.modelsMu.Unlock()
	if _, ok := n.names[a.Name]; !ok {
		n.names[a.Name] = a.Root
	}
	s := n.sigs[a.Root]
	if s == nil {
		s = &bundleSource{ann: *a, peers: map[netq.PeerID]bool{}}
		n.sigs[a.Root] = s
	}
	s.peers[from] = true
}

// BundleByName resolves a model name (or a hex root) to a bundle root.
func (n *Node) BundleByName(name string) (keys.Hash, bool) {
	if h, err := keys.ParseHash(name); err == nil {
		return h, true
	}
	n.modelsMu.Lock()
	defer n.modelsMu.Unlock()
	h, ok := n.names[name]
	return h, ok
}

// KnownBundles lists the bundles the node holds or has heard of.
func (n *Node) KnownBundles() []BundleView {
	held, _ := n.bundles.List()
	seen := map[keys.Hash]bool{}
	var out []BundleView
	for _, in := range held {
		seen[in.Root] = true
		out = append(out, BundleView{Info: in, Held: true})
	}
	n.modelsMu.Lock()
	defer n.modelsMu.Unlock()
	for root, s := range n.sigs {
		if !seen[root] {
			out = append(out, BundleView{Info: bundlestore.Info{Root: root, Name: s.ann.Name, Size: int64(s.ann.Size),
				Leaves: int(s.ann.Chunks)}, Peers: len(s.peers)})
		}
	}
	for i := range out {
		_, out[i].Loaded = n.models[out[i].Root]
	}
	return out
}

// BundleView is a bundle as the API lists it.
type BundleView struct {
	bundlestore.Info
	Held   bool `json:"held"`
	Loaded bool `json:"loaded"` // compiled and in memory
	Peers  int  `json:"peers,omitempty"`
}

// FetchBundle gets a bundle from peers by its root, verifying every chunk
// on arrival (progress may be nil).
func (n *Node) FetchBundle(ctx context.Context, root keys.Hash, progress func(netq.FetchProgress)) (*bundle.Bundle, error) {
	if b, err := n.bundles.Get(root); err == nil {
		return b, nil
	}
	n.modelsMu.Lock()
	s := n.sigs[root]
	wait, busy := n.fetching[root]
	if !busy {
		wait = make(chan struct{})
		n.fetching[root] = wait
	}
	var peers []netq.PeerID
	if s != nil {
		for p := range s.peers {
			peers = append(peers, p)
		}
	}
	n.modelsMu.Unlock()
	if busy {
		select {
		case <-wait:
			return n.bundles.Get(root)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer func() {
		n.modelsMu.Lock()
		delete(n.fetching, root)
		n.modelsMu.Unlock()
		close(wait)
	}()
	if s == nil {
		return nil, fmt.Errorf("%w: %s (no announcement seen)", ErrNoBundle, root.String()[:16])
	}
	var leaves [][]byte
	res, err := n.net.Fetch(ctx, netq.FetchRequest{Root: merkle.Hash(root), Peers: peers,
		Sink: func(i int, raw []byte) error {
			if leaves == nil {
				leaves = make([][]byte, s.ann.Chunks)
			}
			if i >= len(leaves) {
				return fmt.Errorf("leaf %d of %d", i, len(leaves))
			}
			leaves[i] = append([]byte(nil), raw...)
			return nil
		}, Progress: progress})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoBundle, err)
	}
	if len(res.Leaves) != len(leaves) {
		return nil, fmt.Errorf("%w: %d leaves, announced %d", ErrNoBundle, len(res.Leaves), len(leaves))
	}
	b, err := bundle.Assemble(leaves, s.ann.Signature, root, bundle.ReadOptions{})
	if err != nil {
		return nil, err
	}
	if err := n.bundles.Put(b); err != nil {
		return nil, err
	}
	n.log.Info("bundle fetched", "name", b.Manifest().Name, "root", root.String()[:16], "bytes", res.Bytes, "peers", len(res.Chunks))
	return b, nil
}

// load returns a bundle compiled and ready, fetching it if needed. Models
// are compiled once and kept.
func (n *Node) load(ctx context.Context, root keys.Hash) (*loaded, error) {
	n.modelsMu.Lock()
	l, ok := n.models[root]
	n.modelsMu.Unlock()
	if ok {
		return l, nil
	}
	b, err := n.FetchBundle(ctx, root, nil)
	if err != nil {
		return nil, err
	}
	n.modelsMu.Lock()
	defer n.modelsMu.Unlock()
	if l, ok := n.models[root]; ok {
		return l, nil
	}
	md, err := n.rt.Load(ctx, b)
	if err != nil {
		return nil, err
	}
	rule, err := consensus.ForBundle(ctx, n.rt, b, runtime.PureLimits{})
	if err != nil {
		md.Close(ctx)
		return nil, err
	}
	l = &loaded{b: b, model: md, ver: verify.New(md), rule: rule}
	n.models[root] = l
	n.names[b.Manifest().Name] = root
	return l, nil
}
