package websocket

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aper-go/aper/transport"
)

// DialOptions configure Dial. A nil *DialOptions means the defaults.
type DialOptions struct {
	ConnOptions

	// Codec is the codec to ask for: "cbor" (the default) or "json".
	Codec string
	// HTTPHeader is sent with the upgrade request (an Authorization header, say). A browser
	// (GOOS=js) lets no page set the headers of a WebSocket request: there, a non-empty
	// HTTPHeader makes Dial fail with ErrBrowserOption; send a token in the hello instead.
	HTTPHeader http.Header
	// HTTPClient makes the upgrade request; nil means http.DefaultClient. In a browser
	// (GOOS=js) the browser makes the request, and a non-nil HTTPClient makes Dial fail with
	// ErrBrowserOption.
	HTTPClient *http.Client
}

// ErrBrowserOption is the error of a Dial, built for a browser (GOOS=js), whose DialOptions
// ask for what a browser's WebSocket cannot do (set HTTP headers, use an http.Client).
var ErrBrowserOption = errors.New("aper/transport/websocket: option not supported in a browser")

// Dial connects to the WebSocket URL u ("ws://host:port/path" or "wss://...").
func Dial(ctx context.Context, u string, opts *DialOptions) (*Conn, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	var proto string
	switch o.Codec {
	case "", "cbor":
		proto = SubprotocolCBOR
	case "json":
		proto = SubprotocolJSON
	default:
		return nil, fmt.Errorf("aper/transport/websocket: dial: unknown codec %q", o.Codec)
	}
	ws, err := dial(ctx, u, proto, &o)
	if err != nil {
		return nil, fmt.Errorf("aper/transport/websocket: dial %s: %w", u, err)
	}
	return newConn(ws, nil, o.ConnOptions), nil
}

// Dialer returns a transport.Dialer that dials u with opts (nil for defaults).
func Dialer(u string, opts *DialOptions) transport.Dialer {
	return transport.DialerFunc(func(ctx context.Context) (transport.Conn, error) {
		c, err := Dial(ctx, u, opts)
		if err != nil {
			return nil, err
		}
		return c, nil
	})
}
