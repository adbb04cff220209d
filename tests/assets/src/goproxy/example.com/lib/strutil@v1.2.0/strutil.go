// Package strutil has small string helpers.
package strutil

// Join joins two words with a single space.
func Join(a, b string) string { return a + " " + b }

// Upper returns s with ASCII letters upper-cased.
func Upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
