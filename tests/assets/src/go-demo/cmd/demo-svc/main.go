// Command demo-svc is a tiny program used as a test fixture for sbomsign.
// It links one package from each dependency module so that every module
// shows up in the binary's embedded build information.
package main

import (
	"os"

	"example.com/Acme/Widgets/gadget"
	"example.com/lib/codec/v2"
	"example.com/lib/local"
	"example.com/lib/old"
	"example.com/lib/strutil"

	"example.com/sbomsign/demo/internal/banner"
)

// version is overridden at link time with -ldflags "-X main.version=...".
var version = "0.0.0-dev"

func main() {
	out := banner.Line("demo-svc", version)
	out += strutil.Join(gadget.Name(), codec.Name()) + "\n"
	out += strutil.Join(old.Name(), local.Name()) + "\n"
	os.Stdout.WriteString(out)
}
