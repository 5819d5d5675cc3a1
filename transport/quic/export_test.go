package quic

import "crypto/tls"

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

// Restart ends l as the death of its process would (its connections end without a word to
// their peers), and starts another Listener at once on the same UDP socket, as a restarted
// process that is handed its socket (by systemd's socket activation, say) would. The socket
// is never closed meanwhile, so that no packet of l's clients meets a closed port.
func Restart(l *Listener, tlsConf *tls.Config, opts *Options) (*Listener, error) {
	l.mu.Lock()
	l.udpOff = true // the socket is the new Listener's now
	l.mu.Unlock()
	_ = l.tr.Close() // stops reading and ends the connections abruptly; leaves the socket open
	o := opts.withDefaults()
	key, err := resetKey(o.StatelessResetKey, tlsConf)
	if err != nil {
		return nil, err
	}
	return listenOn(l.tr.Conn, tlsConf, o, key)
}

// ResetKey is the stateless reset key a Listener with these options and certificate uses.
var ResetKey = resetKey
