package dna

// Ops wraps a Host with a sticky error, like bufio.Writer: after the first
// failure every further call is skipped and Err reports that failure. It
// keeps a forward pass readable as a straight list of operations.
type Ops struct {
	H   Host
	err error
}

// Err returns the first error, if any.
func (o *Ops) Err() error { return o.err }

func (o *Ops) MatMul(out, x, w Tensor) {
	if o.err == nil {
		o.err = o.H.MatMul(out, x, w)
	}
}

func (o *Ops) Embed(out, table Tensor, tokens []int32) {
	if o.err == nil {
		o.err = o.H.Embed(out, table, tokens)
	}
}

func (o *Ops) RMSNorm(out, x, w Tensor, eps float32) {
	if o.err == nil {
		o.err = o.H.RMSNorm(out, x, w, eps)
	}
}

func (o *Ops) RoPE(x Tensor, pos, headSize int, theta float32) {
	if o.err == nil {
		o.err = o.H.RoPE(x, pos, headSize, theta)
	}
}

func (o *Ops) Attention(out, q, k, v Tensor, pos, nHeads, nKVHeads int) {
	if o.err == nil {
		o.err = o.H.Attention(out, q, k, v, pos, nHeads, nKVHeads)
	}
}

func (o *Ops) Softmax(x Tensor) {
	if o.err == nil {
		o.err = o.H.Softmax(x)
	}
}

func (o *Ops) SiLUMul(out, a, b Tensor) {
	if o.err == nil {
		o.err = o.H.SiLUMul(out, a, b)
	}
}

func (o *Ops) Add(out, a, b Tensor) {
	if o.err == nil {
		o.err = o.H.Add(out, a, b)
	}
}

func (o *Ops) Mul(out, a, b Tensor) {
	if o.err == nil {
		o.err = o.H.Mul(out, a, b)
	}
}

func (o *Ops) Copy(dst Tensor, dstOff int, src Tensor, srcOff, n int) {
	if o.err == nil {
		o.err = o.H.Copy(dst, dstOff, src, srcOff, n)
	}
}

func (o *Ops) Probe(t Tensor, tag string) {
	if o.err == nil {
		o.err = o.H.Probe(t, tag)
	}
}
