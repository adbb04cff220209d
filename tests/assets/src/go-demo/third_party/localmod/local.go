// Package local is vendored next to the main module and wired in with a
// directory replace directive.
package local

// Name identifies the package.
func Name() string { return "local" }
