package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"dictum/internal/audio"
	"dictum/internal/testrig"
)

// socketInodes lists the socket inodes a process holds.
func socketInodes(pid int) map[string]bool {
	out := map[string]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			out[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	return out
}

// remotePeers returns the remote addresses of the process's TCP and UDP sockets.
func remotePeers(pid int) []string {
	inodes := socketInodes(pid)
	var peers []string
	for _, f := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || !inodes[fields[9]] {
				continue
			}
			ip, port := decodeProcAddr(fields[2])
			if port == 0 && (ip.IsUnspecified() || ip == nil) {
				continue // listening or unconnected
			}
			peers = append(peers, f+" "+net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		}
	}
	return peers
}

func decodeProcAddr(s string) (net.IP, int) {
	host, port, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0
	}
	b, err := hex.DecodeString(host)
	if err != nil {
		return nil, 0
	}
	// /proc/net stores the address as 32-bit words in host (little-endian) order.
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	p, _ := strconv.ParseInt(port, 16, 32)
	return net.IP(b), int(p)
}

// The server in its default configuration (and with the local CA) talks to nobody but
// its clients on loopback: every socket it holds during a whole dictation (login,
// upload, transcription, drafting) is checked, and so is the DNS resolver (UDP).
func TestNoOutboundConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("starts whisper")
	}
	if _, err := os.Stat("/proc/self/net/tcp"); err != nil {
		t.Skip("no /proc/net")
	}
	for _, mode := range []string{"off", "local"} {
		t.Run("tls="+mode, func(t *testing.T) {
			data := initData(t)
			tok := strings.TrimSpace(dictum(t, "", nil, "token", "create", "--data", data, "--username", "boss").stdout)
			addr := freePort(t)
			cmd, _ := startProc(t, data, addr, "DICTUM_SERVER_TLS="+mode, "DICTUM_TRANSCRIBE_MODEL="+testrig.TestModel(t), "DICTUM_TRANSCRIBE_NO_TEMPERATURE_FALLBACK=true")
			scheme := "http"
			client := http.DefaultClient
			if mode == "local" {
				scheme = "https"
				client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the peer, not the chain, is under test
			}
			base := scheme + "://" + addr
			stop := make(chan struct{})
			bad := make(chan string, 16)
			go func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					for _, p := range remotePeers(cmd.Process.Pid) {
						host, _, _ := net.SplitHostPort(strings.Fields(p)[1])
						if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
							select {
							case bad <- p:
							default:
							}
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			var wav bytes.Buffer
			s := make([]float32, 16000*3)
			for i := range s {
				s[i] = float32((i%120)-60) / 200
			}
			audio.EncodeWAV16(&wav, s)
			req, _ := http.NewRequest("POST", base+"/api/v1/recordings", &wav)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "audio/wav")
			res, err := waitUp(client, base, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 202 {
				t.Fatalf("upload: %d", res.StatusCode)
			}
			drafted := false
			deadline := time.Now().Add(3 * time.Minute)
			for !drafted && time.Now().Before(deadline) {
				r2, _ := http.NewRequest("GET", base+"/api/v1/entries", nil)
				r2.Header.Set("Authorization", "Bearer "+tok)
				res, err := client.Do(r2)
				if err == nil {
					var b bytes.Buffer
					b.ReadFrom(res.Body)
					res.Body.Close()
					drafted = strings.Contains(b.String(), `"count":1`)
				}
				time.Sleep(200 * time.Millisecond)
			}
			close(stop)
			if !drafted {
				t.Fatal("the dictation was never drafted: the check watched an idle server")
			}
			select {
			case p := <-bad:
				t.Fatalf("the server opened a connection to a non-loopback peer: %s", p)
			default:
			}
		})
	}
}

func waitUp(client *http.Client, base string, req *http.Request) (*http.Response, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := client.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			return client.Do(req)
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The detector itself: a connected UDP socket to a documentation address (no packet is
// sent by connect) must be reported.
func TestRemotePeersSeesConnections(t *testing.T) {
	c, err := net.Dial("udp", "192.0.2.1:53")
	if err != nil {
		t.Skip("no route for the check:", err)
	}
	defer c.Close()
	for _, p := range remotePeers(os.Getpid()) {
		if strings.Contains(p, "192.0.2.1:53") {
			return
		}
	}
	t.Fatalf("remotePeers missed the UDP socket: %v", remotePeers(os.Getpid()))
}
