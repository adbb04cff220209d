// Package codec is a major-version-2 module (path suffix /v2).
package codec

// Name identifies the codec.
func Name() string { return "codec/v2" }
