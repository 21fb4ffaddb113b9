module github.com/dnahost/dnahost

go 1.26

require (
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.4.1
	github.com/dnahost/dnahost/guest-sdk v0.0.0
	github.com/klauspost/compress v1.20.3
	github.com/tetratelabs/wazero v1.12.0
	golang.org/x/sys v0.44.0
)

replace github.com/dnahost/dnahost/guest-sdk => ./guest-sdk
