package api

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/dnahost/dnahost/keys"
)

// spending wraps a handler that spends the node's funds or changes what
// it holds: it needs one of the API keys, or, with none configured, a
// loopback client.
func (s *server) spending(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := s.authorize(r); e != nil {
			if e.Status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="dnahost"`)
			}
			writeError(w, e)
			return
		}
		h(w, r)
	}
}

func (s *server) authorize(r *http.Request) *apiError {
	if len(s.keys) == 0 {
		if loopbackClient(r) {
			return nil
		}
		return &apiError{http.StatusForbidden, "permission_error", "",
			"this node has no API keys configured: spending endpoints are served only to loopback clients"}
	}
	tok, ok := bearer(r)
	if !ok {
		return &apiError{http.StatusUnauthorized, "authentication_error", "missing_api_key",
			"this endpoint needs an API key (Authorization: Bearer KEY)"}
	}
	h := keys.SHA256([]byte(tok))
	match := 0
	for _, k := range s.keys {
		match |= subtle.ConstantTimeCompare(h[:], k[:])
	}
	if match != 1 {
		return &apiError{http.StatusUnauthorized, "authentication_error", "invalid_api_key", "invalid API key"}
	}
	return nil
}

// bearer returns the token of an "Authorization: Bearer TOKEN" header.
func bearer(r *http.Request) (string, bool) {
	a := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(strings.TrimSpace(a), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// loopbackClient reports a request from a loopback address that does not
// come through a proxy (which would make every client look local).
func loopbackClient(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
