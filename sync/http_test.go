package sync_test

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func newHTTPServer(t testing.TB, srv *server) string {
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return strings.TrimPrefix(hs.URL, "http://")
}
