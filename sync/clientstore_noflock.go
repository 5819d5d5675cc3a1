//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package sync

import "os"

// lockStore opens the client store's lock file without locking it: this platform has no flock.
// Do not give one store to two clients at once.
func lockStore(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &StoreError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}
