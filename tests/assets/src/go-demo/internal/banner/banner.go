// Package banner formats the first output line of demo-svc.
package banner

// Line returns "<name> <version>\n".
func Line(name, version string) string {
	return name + " " + version + "\n"
}
