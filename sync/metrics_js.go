//go:build js

package sync

import "time"

// A build for the browser has no metrics: WithMetrics is not there, so a server has none, and
// these are the no-op shapes the server's code calls.

type serverMetrics struct{}

type roomMetrics struct{ stats roomStats }

func newServerMetrics[S any, T any](*serverConfig, func() float64, func() float64, func() float64) (*serverMetrics, error) {
	return nil, nil
}

func (m *serverMetrics) unregister()                            {}
func (m *serverMetrics) connOpened(*serverConn) func()          { return func() {} }
func (m *serverMetrics) forRoom(string) *roomMetrics            { return nil }
func (rm *roomMetrics) flush(time.Time)                         {}
func (rm *roomMetrics) appended(time.Duration)                  {}
func (rm *roomMetrics) snapshotSaved(int, time.Duration, error) {}
