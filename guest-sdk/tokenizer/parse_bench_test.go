package tokenizer

import "testing"

func BenchmarkParse32k(b *testing.B) {
	data, err := readShared("llama2-tokenizer-32k/tokenizer.bin")
	if err != nil {
		b.Skip(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := Parse(data, 32000); err != nil {
			b.Fatal(err)
		}
	}
}
