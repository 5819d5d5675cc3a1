package quic

// OnEvent makes l call f when a connection is offered to Accept ("parked") and when one leaves
// the backlog without being accepted ("dropped").
func OnEvent(l *Listener, f func(event string)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.event = f
}

// Crash closes l's UDP socket underneath quic-go, as the death of the process would: its
// connections end without a word to their peers.
func Crash(l *Listener) { _ = l.tr.Conn.Close() }

// ResetKey is the stateless reset key a Listener with these options and certificate uses.
var ResetKey = resetKey
