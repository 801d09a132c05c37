module shadowproxy

go 1.26.8

require (
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.4.1
	github.com/ethereum/go-ethereum v1.17.10
	golang.org/x/crypto v0.58.0
)

require golang.org/x/sys v0.49.0 // indirect
