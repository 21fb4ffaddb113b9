package node

import (
	"context"

	"github.com/dnahost/dnahost/keys"
	"github.com/dnahost/dnahost/runtime"
)

// Tokenize returns text's tokens under a bundle's tokenizer (what compute
// nodes see as the prompt), loading the bundle if it is not loaded yet.
// The API uses it to count a completion's prompt tokens.
func (n *Node) Tokenize(ctx context.Context, root keys.Hash, text string) ([]int32, error) {
	l, err := n.load(ctx, root)
	if err != nil {
		return nil, err
	}
	s, err := l.model.NewSession(ctx, runtime.SessionOptions{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Tokenize(text)
}
