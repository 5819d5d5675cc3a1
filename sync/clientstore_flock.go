//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package sync

import (
	"errors"
	"os"
	"syscall"
)

// lockStore takes an exclusive advisory lock on the client store's lock file, released when the
// file is closed or the process ends (even by SIGKILL).
func lockStore(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &StoreError{Op: "open", Path: path, Err: err}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			err = ErrStoreLocked
		}
		return nil, &StoreError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}
