// Package wallet keeps secp256k1 keys (package keys) in one file encrypted
// under a passphrase.
//
// A wallet holds any number of named keys, each with its creation time. Names
// are 1 to 64 characters of [A-Za-z0-9._-] and unique. One key is the default:
// the first one added, until SetDefault says otherwise or it is removed (then
// the oldest remaining key takes over). Changes stay in memory until Save,
// which replaces the file atomically (temporary file in the same folder,
// fsync, rename, fsync of the folder), so a crash leaves either the old file
// or the new one, never a mix.
//
// # File format (version 1)
//
// Binary, integers little-endian (as in the chain's encoding):
//
//	offset  size  field
//	0       8     magic "DNAWALLT"
//	8       1     format version, 1
//	9       1     KDF, 1 = Argon2id
//	10      4     Argon2 time (passes), 1..64
//	14      4     Argon2 memory in KiB, 8×threads..1 GiB
//	18      1     Argon2 threads, 1..255
//	19      1     salt length S, 16..64
//	20      S     salt
//	20+S    24    XChaCha20-Poly1305 nonce
//	44+S    4     ciphertext length C, tag included
//	48+S    C     ciphertext ‖ 16-byte Poly1305 tag
//
// and nothing after it; the whole file is at most 16 MiB. Bytes 0 to 48+S,
// the header, are the AEAD's associated data, so a changed KDF parameter,
// salt or version fails authentication like a changed ciphertext byte does.
//
// The plaintext is:
//
//	2     key count N
//	1     default name length D (0 exactly when N is 0)
//	D     default name
//	N ×   1 name length L, L name, 8 creation time (Unix seconds, signed),
//	      32 private key scalar; names strictly ascending
//
// Binary rather than JSON because every size is a fixed-width field read
// before anything is allocated, so the decoder's limits are plain to see; the
// encoding is canonical (sorted, no optional fields), which the known-answer
// file in testdata relies on; and no text parser sits in front of the
// authentication check. An encrypted file is unreadable either way.
//
// # Cryptography
//
// Both primitives come from golang.org/x/crypto and are standards:
//
//   - Argon2id (RFC 9106) turns the passphrase into the 256-bit key. It is
//     memory-hard, so guessing passphrases costs memory as well as time on
//     GPUs and ASICs. Default time=3, memory=64 MiB, threads=4: RFC 9106's
//     second recommended option, for machines that cannot spare 2 GiB. The
//     parameters are in the file, so they can be raised later without a new
//     format version.
//   - XChaCha20-Poly1305 encrypts and authenticates. Its 192-bit nonce can
//     be drawn at random on every save without counting saves, and it is
//     fast without AES hardware.
//
// Every Save draws a fresh 16-byte salt and nonce, so no two files share a
// key or nonce. A wrong passphrase and a tampered file are the same AEAD
// failure and both give ErrPassphrase; a file that does not parse gives
// ErrFormat.
//
// The file is untrusted input: Open checks its size before reading it, every
// length before using it, and the KDF parameters against the bounds above
// before running Argon2, so a crafted file cannot make Open allocate
// gigabytes or spin for hours. The decrypted plaintext is parsed just as
// strictly (sizes, names, order, valid keys, no duplicate keys, the default
// present).
//
// The wallet keeps a copy of the passphrase, because each Save derives a new
// key from a new salt; Close wipes it. Derived keys and plaintext buffers are
// wiped after use too, but Go's garbage collector may have copied them, and
// keys.PrivateKey cannot be wiped, so this narrows exposure rather than
// guaranteeing it.
//
// A wallet file belongs to one process at a time: there is no file lock, and
// the last Save wins.
package wallet
