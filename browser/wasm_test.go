package browser_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The packages a page's WebAssembly program is made of: the client, the bridge, and the program
// of aper serve's pages (which also holds the example rooms' state machines).
var wasmPackages = []string{
	"github.com/aper-go/aper/sync",
	"github.com/aper-go/aper/transport/websocket",
	"github.com/aper-go/aper/browser",
	"github.com/aper-go/aper/cmd/aper/internal/webclient",
}

// Packages that must stay out of a browser's import graph: they need UDP sockets, a NATS
// server or cgo, none of which a browser has.
var notInBrowser = []string{
	"github.com/quic-go/",
	"github.com/aper-go/aper/transport/quic",
	"github.com/nats-io/",
	"github.com/aper-go/aper/journal/jetstream",
	"github.com/aper-go/aper/cluster",
	"github.com/prometheus/", // the server's metrics
	"runtime/cgo",
}

func wasmEnv() []string {
	return append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
}

// goTool is the go command that runs the test, from the PATH.
func goTool(t *testing.T) string {
	t.Helper()
	g, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command on the PATH: %v", err)
	}
	return g
}

// TestBuildsForWasm builds the client and the bridge with GOOS=js GOARCH=wasm, so that nothing
// that does not build for a browser creeps into them.
func TestBuildsForWasm(t *testing.T) {
	args := append([]string{"build", "-o", os.DevNull}, wasmPackages[3])
	cmd := exec.Command(goTool(t), args...)
	cmd.Env = wasmEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	cmd = exec.Command(goTool(t), append([]string{"build"}, wasmPackages...)...)
	cmd.Env = wasmEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go build %s: %v\n%s", strings.Join(wasmPackages, " "), err, out)
	}
}

// TestWasmImportGraph checks that QUIC, NATS, the server's metrics and cgo stay out of the
// browser's import graph.
func TestWasmImportGraph(t *testing.T) {
	cmd := exec.Command(goTool(t), append([]string{"list", "-deps"}, wasmPackages...)...)
	cmd.Env = wasmEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go list -deps: %v", err)
	}
	for pkg := range strings.FieldsSeq(string(out)) {
		for _, bad := range notInBrowser {
			if pkg == strings.TrimSuffix(bad, "/") || strings.HasPrefix(pkg, bad) {
				t.Errorf("the browser's import graph holds %s", pkg)
			}
		}
	}
}
