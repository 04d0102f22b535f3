package tlsca

import (
	"context"
	"net"
	"os"
	"strings"
	"time"
)

// MachineConstraints returns the names a new root for this machine should be limited
// to. DNS: the configured names (DNS names in hosts, i.e. server.hosts, and dnsNames,
// i.e. server.ca_dns_names) when there are any, else this machine's host name and its
// fully qualified names as the local resolver (/etc/hosts first) knows them. IPs: the
// IP addresses in hosts when there are any, else this machine's unicast addresses now
// (link-local ones need a zone and are left out). CreateRoot adds localhost, 127.0.0.1
// and ::1. Entries that are neither a valid name nor an IP are left to CreateRoot to
// refuse.
func MachineConstraints(hosts, dnsNames []string) Constraints {
	var c Constraints
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			c.IPs = append(c.IPs, ip)
		} else if h != "" {
			c.DNS = append(c.DNS, h)
		}
	}
	c.DNS = append(c.DNS, dnsNames...)
	if len(c.DNS) == 0 {
		c.DNS = machineNames()
	}
	if len(c.IPs) == 0 {
		c.IPs = machineIPs()
	}
	return c
}

// machineNames is the host name plus the fully qualified names the resolver gives for
// it (e.g. "dictum" and "dictum.firm.lan" from /etc/hosts). Bounded to two seconds.
func machineNames() []string {
	h, err := os.Hostname()
	h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
	if err != nil || !validDNSName(h) || h == "localhost" {
		return nil
	}
	out := []string{h}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, h)
	if err != nil {
		return out
	}
	seen := map[string]bool{h: true}
	short, _, _ := strings.Cut(h, ".")
	for _, a := range addrs {
		names, err := net.DefaultResolver.LookupAddr(ctx, a)
		if err != nil {
			continue
		}
		for _, n := range names {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
			// Only names of this machine: the short host name followed by a domain.
			if seen[n] || !strings.HasPrefix(n, short+".") || !validDNSName(n) {
				continue
			}
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// machineIPs is the machine's unicast addresses, loopback and link-local excluded.
func machineIPs() []net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []net.IP
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLoopback() || n.IP.IsLinkLocalUnicast() || n.IP.IsMulticast() || n.IP.IsUnspecified() {
			continue
		}
		out = append(out, n.IP)
	}
	return out
}
