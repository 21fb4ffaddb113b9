package cpu

// Lanes is the width of the fixed reduction order.
const Lanes = 32

// tree combines 32 partial sums: p[j] += p[j+off] for off = 16, 8, 4, 2, 1.
func tree(p *[Lanes]float32) float32 {
	for off := Lanes / 2; off > 0; off >>= 1 {
		for j := 0; j < off; j++ {
			p[j] = p[j] + p[j+off]
		}
	}
	return p[0]
}

// dotTail adds the products of a partial last block to the partial sums.
func dotTail(p *[Lanes]float32, a, b []float32) {
	for j := range a {
		p[j] = p[j] + float32(a[j]*b[j])
	}
}

// dotBlocksGeneric adds a[k]·b[k] to p[k mod 32] for whole blocks of 32.
func dotBlocksGeneric(p *[Lanes]float32, a, b []float32) {
	n := len(a) &^ (Lanes - 1)
	for k := 0; k < n; k += Lanes {
		x, y := a[k:k+Lanes:k+Lanes], b[k:k+Lanes:k+Lanes]
		for j := range Lanes {
			p[j] = p[j] + float32(x[j]*y[j])
		}
	}
}

// DotRef is the specification of a float32 dot product: lane j sums the
// products a[k]·b[k] for k ≡ j (mod 32) in increasing k, then the lanes are
// combined by the fixed tree.
func DotRef(a, b []float32) float32 {
	var p [Lanes]float32
	dotBlocksGeneric(&p, a, b)
	n := len(a) &^ (Lanes - 1)
	dotTail(&p, a[n:], b[n:len(a)])
	return tree(&p)
}

// SumRef is the specification of a float32 sum, in the same order as DotRef.
func SumRef(x []float32) float32 {
	var p [Lanes]float32
	for k, v := range x {
		p[k&(Lanes-1)] = p[k&(Lanes-1)] + v
	}
	return tree(&p)
}
