// Package llama is a Llama-family decoder (the llama2.c architecture):
// token embedding, per layer RMSNorm → grouped-query attention with RoPE →
// residual, RMSNorm → SwiGLU feed-forward → residual, a final RMSNorm and a
// classifier that is either separate or shared with the embedding.
//
// It reads its shape from the bundle's config (dim, hidden_dim, n_layers,
// n_heads, n_kv_heads, vocab_size, seq_len, norm_eps, rope_theta,
// shared_classifier, tokenizer) and its weights by the names the llama2.c
// importer writes (see TensorName). Every position's final hidden state is
// probed into the instance digest.
package llama
