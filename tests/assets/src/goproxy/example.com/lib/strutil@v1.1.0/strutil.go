// Package strutil has small string helpers.
package strutil

// Join joins two words with a single space.
func Join(a, b string) string { return a + " " + b }
