//go:build windows

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// netshPath is netsh.exe in System32, never looked up through PATH (the installer runs
// this as LocalSystem).
func netshPath() string {
	root := os.Getenv("SystemRoot")
	if root == "" {
		root = `C:\Windows`
	}
	return filepath.Join(root, "System32", "netsh.exe")
}

func (e *cliEnv) runFirewall(action string, cmds [][]string) int {
	for i, args := range cmds {
		out, err := exec.Command(netshPath(), args...).CombinedOutput()
		text := strings.TrimSpace(string(out))
		// The first command of both actions deletes the rule: "No rules match" is fine.
		if err != nil && i == 0 && args[2] == "delete" {
			continue
		}
		if err != nil {
			return e.fail("msi-firewall %s: netsh %s: %v: %s", action, strings.Join(args, " "), err, text)
		}
		if args[2] == "add" {
			fmt.Fprintf(e.stdout, "dictum: firewall rule %q added (%s)\n", FirewallRuleName, strings.Join(args[5:], " "))
		} else if action == "remove" {
			fmt.Fprintf(e.stdout, "dictum: firewall rule %q removed\n", FirewallRuleName)
		}
	}
	return 0
}

func (e *cliEnv) showFinish(msg string) int {
	text, err := windows.UTF16PtrFromString(msg)
	if err != nil {
		return e.fail("msi-finish: %v", err)
	}
	title, _ := windows.UTF16PtrFromString("Dictum setup")
	const flags = windows.MB_OK | windows.MB_ICONINFORMATION | windows.MB_SETFOREGROUND | windows.MB_TOPMOST
	if _, err := windows.MessageBox(0, text, title, flags); err != nil {
		return e.fail("msi-finish: %v", err)
	}
	return 0
}
