package websocket

// OnEvent makes s call f when a connection is offered to Accept ("parked") and when one leaves
// without being accepted ("dropped").
func OnEvent(s *Server, f func(event string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.event = f
}
