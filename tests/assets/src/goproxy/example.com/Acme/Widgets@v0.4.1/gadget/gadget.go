// Package gadget names a gadget.
package gadget

import "example.com/lib/strutil"

// Name returns the gadget name.
func Name() string { return strutil.Join("acme", "gadget") }
