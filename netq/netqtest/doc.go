// Package netqtest starts clusters of real netq nodes on 127.0.0.1 for
// tests: N nodes, each with its own key, UDP socket and fault injector,
// seeded so that they find each other through peer exchange.
package netqtest
