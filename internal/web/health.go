package web

import (
	"context"
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/tlsca"
)

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz is public (load balancers, systemd, monitoring), so it says only ready or not;
// why not goes to the log, where an admin looks (raw errors carry paths and versions).
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	var problems []any
	if err := s.Store.Ping(ctx); err != nil {
		problems = append(problems, "database", err.Error())
	}
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			problems = append(problems, "service", err.Error())
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if len(problems) > 0 {
		s.Log.Warn("readyz: not ready", problems...)
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "not ready"})
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

// caCert serves the firm root CA so PCs can trust the server (compare its fingerprint).
func (s *Server) caCert(c *fiber.Ctx) error {
	if len(s.CARoot) == 0 {
		return errf(404, "not_found", "this server has no local CA (TLS is off or uses ACME)")
	}
	c.Set(fiber.HeaderContentType, "application/x-x509-ca-cert")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="dictum-firm-root.crt"`)
	return c.Send(s.CARoot)
}

// caCRL serves the firm root's certificate revocation list (leaves name it as their CRL
// distribution point).
func (s *Server) caCRL(c *fiber.Ctx) error {
	var der []byte
	if s.CRL != nil {
		der = s.CRL()
	}
	if len(der) == 0 {
		return errf(404, "not_found", "this server has no local CA (TLS is off or uses ACME)")
	}
	c.Set(fiber.HeaderContentType, "application/pkix-crl")
	c.Set(fiber.HeaderCacheControl, "max-age=3600")
	return c.Send(der)
}

// caPage explains how to install the firm root, with its fingerprint to compare.
func (s *Server) caPage(c *fiber.Ctx) error {
	d := struct{ Fingerprint, Instructions string }{Instructions: tlsca.InstallInstructions}
	if blk, _ := pem.Decode(s.CARoot); blk != nil {
		sum := sha256.Sum256(blk.Bytes)
		parts := make([]string, len(sum))
		for i, b := range sum {
			parts[i] = fmt.Sprintf("%02X", b)
		}
		d.Fingerprint = strings.Join(parts, ":")
	}
	return s.render(c, 200, "ca", page{Title: "Trust this server", Nav: "ca", D: d})
}
