package chain

import (
	"context"
	"errors"
	"fmt"

	"github.com/dnahost/dnahost/keys"
)

// Limits of the sync messages.
const (
	MaxLocatorHashes = 64
	MaxHeadersPerMsg = 2000
	MaxBlocksPerMsg  = 16
)

// GetHeaders asks for best-chain headers after the first locator hash the
// peer has on its best chain, up to Stop (zero: as many as allowed).
type GetHeaders struct {
	Locator []keys.Hash
	Stop    keys.Hash
}

// Headers answers GetHeaders.
type Headers struct {
	Headers []*Header
}

// GetBlocks asks for blocks by hash.
type GetBlocks struct {
	Hashes []keys.Hash
}

// Blocks answers GetBlocks with the encoded blocks the peer has, in the
// order asked (missing ones left out).
type Blocks struct {
	Blocks [][]byte
}

func encodeHashes(w *writer, hs []keys.Hash) {
	w.u16(uint16(len(hs)))
	for _, h := range hs {
		w.hash(h)
	}
}

func decodeHashes(r *reader, max int) []keys.Hash {
	n := int(r.u16())
	if r.err == nil && (n > max || n*32 > len(r.b)) {
		r.fail("%d hashes", n)
		return nil
	}
	out := make([]keys.Hash, n)
	for i := range out {
		out[i] = r.hash()
	}
	return out
}

// Encode writes u16 n ‖ n × hash ‖ stop[32].
func (m *GetHeaders) Encode() []byte {
	var w writer
	encodeHashes(&w, m.Locator)
	w.hash(m.Stop)
	return w
}

// DecodeGetHeaders parses a GetHeaders message.
func DecodeGetHeaders(b []byte) (*GetHeaders, error) {
	r := &reader{b: b, what: "getheaders"}
	m := &GetHeaders{Locator: decodeHashes(r, MaxLocatorHashes)}
	m.Stop = r.hash()
	return m, r.done()
}

// Encode writes u16 n ‖ n × header.
func (m *Headers) Encode() []byte {
	var w writer
	w.u16(uint16(len(m.Headers)))
	for _, h := range m.Headers {
		w = append(w, h.Encode()...)
	}
	return w
}

// DecodeHeaders parses a Headers message.
func DecodeHeaders(b []byte) (*Headers, error) {
	r := &reader{b: b, what: "headers"}
	n := int(r.u16())
	if r.err == nil && (n > MaxHeadersPerMsg || n*HeaderSize != len(r.b)) {
		r.fail("%d headers in %d bytes", n, len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	m := &Headers{Headers: make([]*Header, n)}
	for i := range m.Headers {
		h, err := DecodeHeader(r.take(HeaderSize))
		if err != nil {
			return nil, err
		}
		m.Headers[i] = h
	}
	return m, r.done()
}

// Encode writes u16 n ‖ n × hash.
func (m *GetBlocks) Encode() []byte {
	var w writer
	encodeHashes(&w, m.Hashes)
	return w
}

// DecodeGetBlocks parses a GetBlocks message.
func DecodeGetBlocks(b []byte) (*GetBlocks, error) {
	r := &reader{b: b, what: "getblocks"}
	m := &GetBlocks{Hashes: decodeHashes(r, MaxBlocksPerMsg)}
	return m, r.done()
}

// Encode writes u16 n ‖ n × (u32 len ‖ block).
func (m *Blocks) Encode() []byte {
	var w writer
	w.u16(uint16(len(m.Blocks)))
	for _, b := range m.Blocks {
		w.bytes(b)
	}
	return w
}

// DecodeBlocks parses a Blocks message; each block is at most maxBlock
// bytes.
func DecodeBlocks(b []byte, maxBlock int) (*Blocks, error) {
	r := &reader{b: b, what: "blocks"}
	n := int(r.u16())
	if r.err == nil && (n > MaxBlocksPerMsg || n*4 > len(r.b)) {
		r.fail("%d blocks in %d bytes", n, len(r.b))
	}
	m := &Blocks{}
	for i := 0; i < n && r.err == nil; i++ {
		m.Blocks = append(m.Blocks, r.bytes(maxBlock))
	}
	return m, r.done()
}

// ServeGetHeaders answers a GetHeaders from the best chain.
func (c *Chain) ServeGetHeaders(m *GetHeaders) *Headers {
	return &Headers{Headers: c.HeadersAfter(m.Locator, m.Stop, MaxHeadersPerMsg)}
}

// ServeGetBlocks answers a GetBlocks from the store.
func (c *Chain) ServeGetBlocks(m *GetBlocks) *Blocks {
	out := &Blocks{}
	for _, h := range m.Hashes {
		if raw, ok, err := readValue(c.db, bodyKey(h)); err == nil && ok {
			out.Blocks = append(out.Blocks, raw)
		}
	}
	return out
}

// SyncPeer is the other side of a sync: netq request streams in a node,
// LocalPeer in tests.
type SyncPeer interface {
	GetHeaders(ctx context.Context, m *GetHeaders) (*Headers, error)
	GetBlocks(ctx context.Context, m *GetBlocks) (*Blocks, error)
}

// LocalPeer serves sync from another Chain in the same process, through
// the wire encoding (so tests exercise the codecs).
type LocalPeer struct{ Chain *Chain }

// GetHeaders implements SyncPeer.
func (l LocalPeer) GetHeaders(_ context.Context, m *GetHeaders) (*Headers, error) {
	req, err := DecodeGetHeaders(m.Encode())
	if err != nil {
		return nil, err
	}
	return DecodeHeaders(l.Chain.ServeGetHeaders(req).Encode())
}

// GetBlocks implements SyncPeer.
func (l LocalPeer) GetBlocks(_ context.Context, m *GetBlocks) (*Blocks, error) {
	req, err := DecodeGetBlocks(m.Encode())
	if err != nil {
		return nil, err
	}
	return DecodeBlocks(l.Chain.ServeGetBlocks(req).Encode(), l.Chain.p.MaxBlockBytes)
}

// SyncStats counts what a sync did.
type SyncStats struct {
	Headers, Blocks int
}

// ErrSyncPeer reports a peer that served something invalid during sync;
// the caller should penalise it.
var ErrSyncPeer = errors.New("chain: sync peer misbehaved")

// Sync catches up with a peer, headers first: it asks for headers after
// its locator until the peer has no more, validating each (proof of work,
// timestamps, targets, linkage), then fetches the bodies of the branch with
// the most work and connects them.
func (c *Chain) Sync(ctx context.Context, peer SyncPeer) (SyncStats, error) {
	var st SyncStats
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		hs, err := peer.GetHeaders(ctx, &GetHeaders{Locator: c.headerLocator()})
		if err != nil {
			return st, err
		}
		added, err := c.ProcessHeaders(hs.Headers)
		st.Headers += added
		if err != nil {
			return st, fmt.Errorf("%w: %v", ErrSyncPeer, err)
		}
		if added == 0 || len(hs.Headers) < MaxHeadersPerMsg {
			break
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		missing := c.MissingBodies(MaxBlocksPerMsg)
		if len(missing) == 0 {
			return st, nil
		}
		req := &GetBlocks{}
		for _, h := range missing {
			req.Hashes = append(req.Hashes, h.Hash())
		}
		bs, err := peer.GetBlocks(ctx, req)
		if err != nil {
			return st, err
		}
		if len(bs.Blocks) == 0 {
			return st, fmt.Errorf("%w: it has none of the %d blocks its headers promised", ErrSyncPeer, len(req.Hashes))
		}
		for _, raw := range bs.Blocks {
			b, err := DecodeBlock(raw, c.p.MaxBlockBytes)
			if err != nil {
				return st, fmt.Errorf("%w: %v", ErrSyncPeer, err)
			}
			if _, err := c.ProcessBlock(b); err != nil && CodeOf(err) != ErrDuplicateBlock {
				return st, fmt.Errorf("%w: %v", ErrSyncPeer, err)
			}
			st.Blocks++
		}
	}
}

// headerLocator is a locator over the header chain with the most work
// (which may run ahead of the connected tip during sync).
func (c *Chain) headerLocator() []keys.Hash {
	c.mu.RLock()
	best := c.tip
	for _, n := range c.index {
		if n.status&statusInvalid == 0 && n.work.Cmp(best.work) > 0 {
			best = n
		}
	}
	c.mu.RUnlock()
	return locatorFrom(best)
}
