package tlsca

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedirectHandler(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	cases := []struct {
		name     string
		port     string
		ca       []byte
		method   string
		target   string
		host     string
		wantCode int
		wantLoc  string
		wantBody string
		crl      []byte
	}{
		{name: "page to https default port", port: "443", ca: ca, method: "GET", target: "/entries?x=1", host: "dictum.firm.lan", wantCode: 308, wantLoc: "https://dictum.firm.lan/entries?x=1"},
		{name: "host port replaced", port: "8443", ca: ca, method: "GET", target: "/", host: "dictum.firm.lan:8080", wantCode: 308, wantLoc: "https://dictum.firm.lan:8443/"},
		{name: "POST keeps method via 308", port: "443", ca: ca, method: "POST", target: "/api/login", host: "192.168.1.10", wantCode: 308, wantLoc: "https://192.168.1.10/api/login"},
		{name: "IPv6 literal", port: "8443", ca: ca, method: "GET", target: "/a", host: "[fd00::5]:80", wantCode: 308, wantLoc: "https://[fd00::5]:8443/a"},
		{name: "IPv6 literal default port", port: "443", ca: ca, method: "GET", target: "/a", host: "[fd00::5]", wantCode: 308, wantLoc: "https://[fd00::5]/a"},
		{name: "CA over http", port: "443", ca: ca, method: "GET", target: "/ca.crt", host: "dictum.firm.lan", wantCode: 200, wantBody: string(ca)},
		{name: "CA HEAD", port: "443", ca: ca, method: "HEAD", target: "/ca.crt", host: "dictum.firm.lan", wantCode: 200},
		{name: "CA POST redirected", port: "443", ca: ca, method: "POST", target: "/ca.crt", host: "dictum.firm.lan", wantCode: 308, wantLoc: "https://dictum.firm.lan/ca.crt"},
		{name: "CA absent in acme mode", port: "443", method: "GET", target: "/ca.crt", host: "dictum.firm.lan", wantCode: 404},
		{name: "other path with ca prefix", port: "443", ca: ca, method: "GET", target: "/ca.crt.bak", host: "x.lan", wantCode: 308, wantLoc: "https://x.lan/ca.crt.bak"},
		{name: "CRL over http", port: "443", ca: ca, crl: []byte("crl-der"), method: "GET", target: "/ca.crl", host: "dictum.firm.lan", wantCode: 200, wantBody: "crl-der"},
		{name: "no CRL in acme mode", port: "443", method: "GET", target: "/ca.crl", host: "dictum.firm.lan", wantCode: 404},
		{name: "bad host", port: "443", ca: ca, method: "GET", target: "/", host: "evil.com/@x", wantCode: 400},
		{name: "empty host", port: "443", ca: ca, method: "GET", target: "/", host: "", wantCode: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, nil)
			req.Host = tc.host
			rec := httptest.NewRecorder()
			var crl func() []byte
			if tc.crl != nil {
				crl = func() []byte { return tc.crl }
			}
			RedirectHandler(tc.port, tc.ca, crl).ServeHTTP(rec, req)
			if rec.Code != tc.wantCode {
				t.Fatalf("code = %d, want %d (body %q)", rec.Code, tc.wantCode, rec.Body.String())
			}
			if got := rec.Header().Get("Location"); got != tc.wantLoc {
				t.Errorf("Location = %q, want %q", got, tc.wantLoc)
			}
			if tc.wantBody != "" && rec.Body.String() != tc.wantBody {
				t.Errorf("body = %q", rec.Body.String())
			}
			wantCT := "application/x-x509-ca-cert"
			if tc.crl != nil {
				wantCT = "application/pkix-crl"
			}
			if tc.wantCode == 200 && rec.Header().Get("Content-Type") != wantCT {
				t.Errorf("Content-Type = %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestInstallInstructions(t *testing.T) {
	for _, want := range []string{"certutil -addstore", "Group Policy", "security add-trusted-cert", "update-ca-certificates", "ImportEnterpriseRoots", "fingerprint"} {
		if !strings.Contains(InstallInstructions, want) {
			t.Errorf("InstallInstructions lacks %q", want)
		}
	}
}

type captureHandler struct {
	slog.Handler
	msgs *[]string
}

func (h captureHandler) Handle(ctx context.Context, r slog.Record) error {
	var attrs []string
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a.Key+"="+a.Value.String()); return true })
	*h.msgs = append(*h.msgs, r.Level.String()+" "+r.Message+" "+strings.Join(attrs, " "))
	return nil
}

func (h captureHandler) WithAttrs(as []slog.Attr) slog.Handler { return h }

func TestZapToSlog(t *testing.T) {
	var msgs []string
	base := slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})
	zl := zapToSlog(slog.New(captureHandler{Handler: base, msgs: &msgs}))
	zl.Named("renew").Info("certificate renewed")
	zl.Debug("hidden")
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "INFO certificate renewed") || !strings.Contains(msgs[0], "logger=renew") {
		t.Fatalf("messages = %q", msgs)
	}
}
