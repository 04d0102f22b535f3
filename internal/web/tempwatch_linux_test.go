//go:build linux

package web

import (
	"syscall"
	"testing"
	"unsafe"
)

// watchCreates watches dir with inotify and returns a function that lists the names
// created in it since the last call, even files created and removed in between (a parser's
// temp file lives only as long as its request).
func watchCreates(t *testing.T, dir string) func() []string {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	return func() []string {
		var names []string
		buf := make([]byte, 64<<10)
		for {
			n, err := syscall.Read(fd, buf)
			if err == syscall.EAGAIN || n <= 0 {
				return names
			}
			if err != nil {
				t.Fatal(err)
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
				for i, b := range name {
					if b == 0 {
						name = name[:i]
						break
					}
				}
				names = append(names, string(name))
				off += syscall.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}
}
