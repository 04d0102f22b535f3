//go:build !windows

package main

// The firewall rule and the message box exist only on Windows: elsewhere the commands
// say so and exit 2 (the MSI never runs them there).

func (e *cliEnv) runFirewall(action string, _ [][]string) int {
	e.fail("msi-firewall %s: only on Windows (the Debian package leaves the firewall to the admin)", action)
	return 2
}

func (e *cliEnv) showFinish(string) int {
	e.fail("msi-finish: only on Windows (use --print to see the message)")
	return 2
}
