// Package old is the original module; demo-svc replaces it with a fork.
package old

// Name identifies the implementation.
func Name() string { return "old" }
