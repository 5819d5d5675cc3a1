package quic

// OnEvent makes l call f when a connection is offered to Accept ("parked") and when one leaves
// the backlog without being accepted ("dropped").
func OnEvent(l *Listener, f func(event string)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.event = f
}
