package netq

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/dnahost/dnahost/keys"
)

// PeerID names a node: SHA-256 of its compressed secp256k1 public key (the
// same ID consensus uses for committing nodes).
type PeerID = keys.Hash

// PeerIDOf returns a key's peer ID.
func PeerIDOf(pub *keys.PublicKey) PeerID { return keys.SHA256(pub.Bytes()) }

// ALPN is the application protocol negotiated in TLS.
const ALPN = "dnahost/1"

// identityOID is the certificate extension that binds the TLS key to the
// node key: the node's compressed public key followed by its signature over
// SHA-256("netq-tls" ‖ the certificate's SubjectPublicKeyInfo).
var identityOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 59213, 1, 1}

// ErrIdentity reports a peer certificate that does not prove a node key.
var ErrIdentity = errors.New("netq: peer certificate does not prove a node key")

// newTLSCert makes an ephemeral TLS key and a self-signed certificate
// carrying the node key's signature over it.
func newTLSCert(node *keys.PrivateKey) (tls.Certificate, error) {
	tk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&tk.PublicKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	ext := append(node.Public().Bytes(), node.SignDomain("netq-tls", spki)...)
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{CommonName: PeerIDOf(node.Public()).String()[:16]},
		NotBefore:       time.Now().Add(-time.Hour),
		NotAfter:        time.Now().Add(10 * 365 * 24 * time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: identityOID, Value: ext}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &tk.PublicKey, tk)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: tk}, nil
}

// peerFromCert checks a peer's certificate and returns its node key.
func peerFromCert(raw [][]byte) (*keys.PublicKey, error) {
	if len(raw) != 1 {
		return nil, fmt.Errorf("%w: %d certificates", ErrIdentity, len(raw))
	}
	cert, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
	}
	// The TLS handshake proves possession of the certificate's key; check the
	// certificate signs itself, then that the node key signs that key.
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
	}
	for _, e := range cert.Extensions {
		if !e.Id.Equal(identityOID) {
			continue
		}
		if len(e.Value) != keys.PublicKeySize+keys.SignatureSize {
			return nil, fmt.Errorf("%w: identity extension of %d bytes", ErrIdentity, len(e.Value))
		}
		pub, err := keys.ParsePublicKey(e.Value[:keys.PublicKeySize])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
		}
		if err := pub.VerifyDomain("netq-tls", cert.RawSubjectPublicKeyInfo, e.Value[keys.PublicKeySize:]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrIdentity, err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("%w: no identity extension", ErrIdentity)
}

// tlsConfig is used for both directions: each side presents its certificate
// and checks the other's identity extension (the certificates are
// self-signed, so chain verification is replaced by that check).
func tlsConfig(cert tls.Certificate) *tls.Config {
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		_, err := peerFromCert(raw)
		return err
	}
	return &tls.Config{
		MinVersion:            tls.VersionTLS13,
		Certificates:          []tls.Certificate{cert},
		ClientAuth:            tls.RequireAnyClientCert,
		InsecureSkipVerify:    true, // replaced by VerifyPeerCertificate
		VerifyPeerCertificate: verify,
		NextProtos:            []string{ALPN},
	}
}
