package sync_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/aper-go/aper"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport"
	"github.com/aper-go/aper/transport/memory"
)

// prefixes finds the package prefixes in an error message ("aper/sync: ", "aper/transport: ").
var prefixes = regexp.MustCompile(`aper/[a-z/]+: `)

// checkOnePrefix fails if msg holds one package's prefix twice: an error wrapped once at each
// exported boundary reads "aper/sync: <operation>: <cause>".
func checkOnePrefix(t *testing.T, msg string) {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range prefixes.FindAllString(msg, -1) {
		if seen[p] {
			t.Errorf("%q holds %q twice", msg, p)
		}
		seen[p] = true
	}
}

// TestErrorMessages builds the errors a user meets most, through the public API, and checks
// each one's message, its errors.Is target and its errors.As type, and that no message
// carries a package's prefix twice.
func TestErrorMessages(t *testing.T) {
	refuse := func(ctx context.Context, req apersync.AuthRequest) (apersync.Identity, error) {
		if req.Token != "good" {
			return apersync.Identity{}, errors.New("bad token")
		}
		return apersync.Identity{Rooms: []string{"lobby"}}, nil
	}
	_, authNet := memoryServer(t, nil, apersync.WithAuth(refuse))
	_, oneRoomNet := memoryServer(t, nil, apersync.WithMaxRooms(1))
	dial(t, oneRoomNet.Dialer("server"), "first")

	failing, err := apersync.NewServer(func(ctx context.Context, room string) (*cmap, error) {
		return nil, errors.New("no such room")
	})
	if err != nil {
		t.Fatal(err)
	}
	failNet := memory.NewNetwork(nil)
	t.Cleanup(func() { failNet.Close() })
	l, err := failNet.Listen("server")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, failing, l)
	_, seqErr := failing.Seq(ctxT(t), "gone")

	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	stopped := newMapServer(t)
	stopped.Close()
	_, agentErr := stopped.Agent(ctxT(t), "r")

	dialErr := func(d transport.Dialer, room string, opts ...apersync.ClientOption) error {
		c, err := apersync.Dial[*cmap, cmt](ctxT(t), d, room, opts...)
		if err == nil {
			c.Close()
		}
		return err
	}
	closed, err := apersync.Dial[*cmap, cmt](ctxT(t), authNet.Dialer("server"), "lobby", apersync.WithToken("good"))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	_, limitNet := memoryServer(t, nil)
	full, err := apersync.Dial[*cmap, cmt](ctxT(t), limitNet.DialerWith("server", &memory.DialOptions{From: "full"}), "r", apersync.WithPendingLimit(1))
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	limitNet.Partition("full", "server", memory.Hold) // nothing is confirmed: the first stays pending
	if err := full.Apply(m.Set("a", aper.NewCounter(1))); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		err  error
		want string
		is   error
		as   func(error) bool
	}{
		{
			name: "refused login",
			err:  dialErr(authNet.Dialer("server"), "lobby", apersync.WithToken("bad")),
			want: `aper/sync: dial room "lobby": unauthorized: bad token`,
			is:   apersync.ErrUnauthorized,
			as: func(err error) bool {
				var se *apersync.ServerError
				return errors.As(err, &se) && se.Code == "unauthorized" && se.Message == "bad token" && se.Fatal
			},
		},
		{
			name: "room not allowed",
			err:  dialErr(authNet.Dialer("server"), "cellar", apersync.WithToken("good")),
			want: `aper/sync: dial room "cellar": unauthorized: not allowed in room "cellar"`,
			is:   apersync.ErrUnauthorized,
			as:   asServerError("unauthorized"),
		},
		{
			name: "too many rooms",
			err:  dialErr(oneRoomNet.Dialer("server"), "second"),
			want: `aper/sync: dial room "second": limit: the server holds as many rooms as it may`,
			is:   apersync.ErrLimit,
			as:   asServerError("limit"),
		},
		{
			name: "room factory fails",
			err:  dialErr(failNet.Dialer("server"), "gone"),
			want: `aper/sync: dial room "gone": room: room "gone": no such room`,
			as:   asServerError("room"),
		},
		{
			name: "seq of a room whose factory fails",
			err:  seqErr,
			want: `aper/sync: seq of room "gone": room "gone": no such room`,
		},
		{
			name: "bad client option",
			err:  dialErr(authNet.Dialer("server"), "lobby", apersync.WithPendingLimit(0)),
			want: `aper/sync: dial room "lobby": invalid option: pending limit 0, want at least 1`,
			is:   apersync.ErrInvalidOption,
		},
		{
			name: "nil dialer",
			err:  dialErr(nil, "lobby"),
			want: `aper/sync: dial room "lobby": invalid option: nil dialer`,
			is:   apersync.ErrInvalidOption,
		},
		{
			name: "client store on a file",
			err:  dialErr(authNet.Dialer("server"), "lobby", apersync.WithClientStore(notDir)),
			as: func(err error) bool {
				var se *apersync.StoreError
				return errors.As(err, &se)
			},
		},
		{
			name: "bad server option",
			err:  newServerErr(apersync.WithMaxPending(0)),
			want: `aper/sync: invalid option: max pending 0, want at least 1`,
			is:   apersync.ErrInvalidOption,
		},
		{
			name: "apply after close",
			err:  closed.Apply(m.Set("a", aper.NewCounter(1))),
			want: `aper/sync: apply: use of closed network connection`,
			is:   apersync.ErrClosed,
		},
		{
			name: "apply over the pending limit",
			err:  full.Apply(m.Set("b", aper.NewCounter(1))),
			want: `aper/sync: apply: over a limit: 1 transitions wait for the server`,
			is:   apersync.ErrLimit,
		},
		{
			name: "agent of a closed server",
			err:  agentErr,
			want: `aper/sync: agent: dial room "r": shutdown: the server is closed`,
			as:   asServerError("shutdown"),
		},
		{
			name: "version",
			err:  &apersync.VersionError{Peer: 9, Ours: apersync.ProtocolVersion},
			is:   apersync.ErrVersion,
			as: func(err error) bool {
				var ve *apersync.VersionError
				return errors.As(err, &ve) && ve.Peer == 9
			},
		},
		{
			name: "refused transition",
			err:  &apersync.RefusedError{Code: "forbidden", Message: "read-only"},
			want: `aper/sync: transition refused (forbidden): read-only`,
			is:   apersync.ErrForbidden,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
			msg := tc.err.Error()
			if tc.want != "" && msg != tc.want {
				t.Errorf("message\n%s\nwant\n%s", msg, tc.want)
			}
			checkOnePrefix(t, msg)
			if tc.is != nil && !errors.Is(tc.err, tc.is) {
				t.Errorf("%v does not match %v", tc.err, tc.is)
			}
			if tc.as != nil && !tc.as(tc.err) {
				t.Errorf("%v: errors.As finds no error of the expected type and fields", tc.err)
			}
		})
	}
}

func newServerErr(opts ...apersync.ServerOption) error {
	_, err := apersync.NewServer(func(ctx context.Context, room string) (*cmap, error) { return nil, nil }, opts...)
	return err
}

func asServerError(code string) func(error) bool {
	return func(err error) bool {
		var se *apersync.ServerError
		return errors.As(err, &se) && se.Code == code
	}
}
