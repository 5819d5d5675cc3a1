package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// webFiles are the pages: plain HTML, CSS and JavaScript, with no build step.
//
//go:embed web
var webFiles embed.FS

// The module whose source holds the pages' wasm program, and that program's package.
const (
	modulePath   = "github.com/aper-go/aper"
	webclientPkg = "./cmd/aper/internal/webclient"
)

// wasmDirName is the folder of the data folder where the wasm program is cached.
const wasmDirName = "web"

// web serves the pages and the wasm program they run. The program is built from source with the
// Go toolchain on the first request for it (GOOS=js GOARCH=wasm go build, which its build cache
// makes quick after the first time) and kept in the data folder, so that a server started where
// the toolchain or the source is missing serves the copy an earlier start made (or `make wasm`).
type web struct {
	dataDir string
	logger  *slog.Logger

	mu     sync.Mutex
	built  bool
	wasm   []byte // the program, raw and gzip-compressed
	wasmGz []byte
	execJS []byte // the Go toolchain's wasm_exec.js, which must match the program's Go version
	stamp  time.Time
}

// mountWeb adds the pages to mux: / (the rooms), /room/NAME (a room's page), /demo/NAME (the
// demonstration view), /static/ (their CSS and JavaScript), /aper.wasm and /wasm_exec.js.
func mountWeb(mux *http.ServeMux, dataDir string, logger *slog.Logger) {
	w := &web{dataDir: dataDir, logger: logger}
	static, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded folder is there: go:embed checked it at build time
	}
	page := func(name string) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(rw, r, static, name)
		}
	}
	mux.HandleFunc("GET /{$}", page("index.html"))
	mux.HandleFunc("GET /room/{name...}", page("room.html"))
	mux.HandleFunc("GET /demo/{name...}", page("demo.html"))
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /aper.wasm", w.serveWasm)
	mux.HandleFunc("GET /wasm_exec.js", w.serveExecJS)
}

func (w *web) serveWasm(rw http.ResponseWriter, r *http.Request) {
	if err := w.load(r.Context()); err != nil {
		w.logger.Error("the pages' wasm program", "err", err)
		http.Error(rw, "aper serve: "+err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "application/wasm")
	rw.Header().Set("Cache-Control", "no-cache")
	rw.Header().Add("Vary", "Accept-Encoding")
	body := w.wasm
	if acceptsGzip(r) {
		rw.Header().Set("Content-Encoding", "gzip")
		body = w.wasmGz
	}
	http.ServeContent(rw, r, "aper.wasm", w.stamp, bytes.NewReader(body))
}

func (w *web) serveExecJS(rw http.ResponseWriter, r *http.Request) {
	if err := w.load(r.Context()); err != nil {
		http.Error(rw, "aper serve: "+err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(rw, r, "wasm_exec.js", w.stamp, bytes.NewReader(w.execJS))
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

// load builds the program once per server (concurrent requests wait for the one build), or
// falls back to the copy in the data folder. A failed build is tried again on the next request.
func (w *web) load(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.built {
		return nil
	}
	dir := filepath.Join(w.dataDir, wasmDirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("wasm: %w", err)
	}
	wasmPath, execPath := filepath.Join(dir, "aper.wasm"), filepath.Join(dir, "wasm_exec.js")
	start := time.Now()
	buildErr := buildWasm(ctx, wasmPath, execPath)
	if buildErr != nil {
		w.logger.Warn("cannot build the pages' wasm program; serving the copy in the data folder", "err", buildErr)
	} else {
		w.logger.Info("built the pages' wasm program", "file", wasmPath, "took", time.Since(start).Round(time.Millisecond))
	}
	wasm, err := os.ReadFile(wasmPath)
	if err != nil {
		return errors.Join(fmt.Errorf("wasm: %w", buildErr), err)
	}
	execJS, err := os.ReadFile(execPath)
	if err != nil {
		return errors.Join(fmt.Errorf("wasm: %w", buildErr), err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(wasm)
	if err := zw.Close(); err != nil {
		return fmt.Errorf("wasm: gzip: %w", err)
	}
	w.wasm, w.wasmGz, w.execJS, w.built, w.stamp = wasm, gz.Bytes(), execJS, true, time.Now()
	return nil
}

// buildWasm builds the pages' program into wasmPath with the Go toolchain on the PATH, from the
// module's source, and copies that toolchain's wasm_exec.js to execPath. The build is
// reproducible: -trimpath, and no build ids or symbol tables that vary.
func buildWasm(ctx context.Context, wasmPath, execPath string) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("no Go toolchain on the PATH: %w", err)
	}
	src, err := moduleDir()
	if err != nil {
		return err
	}
	absWasm, err := filepath.Abs(wasmPath)
	if err != nil {
		return err
	}
	tmp := absWasm + ".tmp"
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", tmp, webclientPkg)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("GOOS=js GOARCH=wasm go build %s: %w\n%s", webclientPkg, err, out)
	}
	if err := os.Rename(tmp, absWasm); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	root := strings.TrimSpace(string(out))
	var js []byte
	for _, p := range []string{filepath.Join(root, "lib", "wasm", "wasm_exec.js"), filepath.Join(root, "misc", "wasm", "wasm_exec.js")} {
		if js, err = os.ReadFile(p); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("wasm_exec.js of the Go toolchain: %w", err)
	}
	return os.WriteFile(execPath, js, 0o644)
}

// moduleDir finds the source of this module: the working folder or one above it (go run
// ./cmd/aper), else the folder this file was compiled from.
func moduleDir() (string, error) {
	var tried []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if isModuleRoot(d) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
		tried = append(tried, wd+" and above")
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		d := filepath.Dir(filepath.Dir(filepath.Dir(file)))
		if isModuleRoot(d) {
			return d, nil
		}
		tried = append(tried, d)
	}
	return "", fmt.Errorf("the source of %s is not in %s: run aper serve from it", modulePath, strings.Join(tried, ", "))
}

func isModuleRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
			return strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "module")), `"`) == modulePath
		}
	}
	return false
}
