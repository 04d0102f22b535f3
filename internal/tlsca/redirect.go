package tlsca

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"time"
)

// CAPath is where the root certificate is served, over HTTP and HTTPS.
const CAPath = "/ca.crt"

// RedirectHandler is the plain-HTTP side: it answers GET/HEAD /ca.crt with caPEM (so a
// PC can fetch the root before it trusts it; nil caPEM, as in ACME mode, means 404),
// GET/HEAD /ca.crl with what crl returns (the signed CRL; nil crl or nil result: 404)
// and 308-redirects every other request to https on httpsPort ("443" gives no port in
// the URL). Requests with an unusable Host header get 400.
//
// /ca.crt over plain HTTP can be replaced by anyone on the LAN: tell users to compare
// Root.Fingerprint() (shown on the admin page and by `dictum init`) before trusting it.
func RedirectHandler(httpsPort string, caPEM []byte, crl func() []byte) http.Handler {
	ca := bytes.Clone(caPEM)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == CAPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			ServeCA(ca).ServeHTTP(w, r)
			return
		}
		if r.URL.Path == CRLPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			ServeCRL(crl).ServeHTTP(w, r)
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if !validRedirectHost(host) {
			http.Error(w, "bad Host header", http.StatusBadRequest)
			return
		}
		if strings.Contains(host, ":") { // IPv6 literal
			host = "[" + host + "]"
		}
		if httpsPort != "" && httpsPort != "443" {
			host = net.JoinHostPort(strings.Trim(host, "[]"), httpsPort)
		}
		path := r.URL.EscapedPath()
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		target := "https://" + host + path
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
	})
}

// ServeCA serves caPEM as a downloadable certificate (404 when nil). Mount it at CAPath
// on the HTTPS side too.
func ServeCA(caPEM []byte) http.Handler {
	ca := bytes.Clone(caPEM)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(ca) == 0 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.Header().Set("Content-Disposition", `attachment; filename="dictum-ca.crt"`)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "dictum-ca.crt", time.Time{}, bytes.NewReader(ca))
	})
}

// ServeCRL serves the DER CRL that crl returns (404 when there is none). A CRL is signed,
// so plain HTTP is the usual way to publish it.
func ServeCRL(crl func() []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var der []byte
		if crl != nil {
			der = crl()
		}
		if len(der) == 0 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "dictum-ca.crl", time.Time{}, bytes.NewReader(der))
	})
}

// validRedirectHost accepts an IP literal or an LDH host name.
func validRedirectHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	return validDNSName(strings.ToLower(strings.TrimSuffix(h, ".")))
}
