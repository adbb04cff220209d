// Package old is provided by the fork module example.com/lib/fork, used
// through "replace example.com/lib/old => example.com/lib/fork v1.1.0".
package old

// Name identifies the implementation.
func Name() string { return "fork" }
