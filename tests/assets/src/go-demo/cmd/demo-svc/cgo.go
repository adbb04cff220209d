//go:build cgo

package main

// Built only with CGO_ENABLED=1: one call into the C library makes the
// binary dynamically linked against libc through the external linker.

/*
#include <unistd.h>
*/
import "C"

func init() {
	_ = C.getpid()
}
