// Command train counts the byte pairs of a text and writes the bigram
// example's weights (see examples/bigram):
//
//	go run ./examples/bigram/train -i corpus.txt -o weights.dnt
package main
