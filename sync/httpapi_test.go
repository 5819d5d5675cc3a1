package sync_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/journal"
	apersync "github.com/aper-go/aper/sync"
	"github.com/aper-go/aper/transport/websocket"
)

// apiServer serves srv's WebSocket endpoint at /ws and its API under /api/, and returns the
// address.
func apiServer(t *testing.T, srv *server) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.Handle("/api/", http.StripPrefix("/api", srv.API()))
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL
}

func post(t *testing.T, url, token string, tr cmt) (int, map[string]any) {
	t.Helper()
	body, err := aper.JSON.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	return request(t, "POST", url, token, bytes.NewReader(body))
}

// request sends an API request and returns its status and its JSON body.
func request(t *testing.T, method, url, token string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %v", method, url, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// Transitions submitted over HTTP are ordered with those of WebSocket clients writing at the
// same time: each gets its own Seq, every replica ends with all of them, and a transition the
// state refuses comes back as its typed conflict.
func TestAPISubmitWhileClientsWrite(t *testing.T) {
	srv := newMapServer(t, apersync.WithJournal(journal.NewMemory()))
	base := apiServer(t, srv)
	ws := websocket.Dialer(strings.Replace(base, "http://", "ws://", 1)+"/ws", nil)
	a := dial(t, ws, "r/1")
	b := dial(t, websocket.Dialer(strings.Replace(base, "http://", "ws://", 1)+"/ws", &websocket.DialOptions{Codec: "json"}), "r/1")
	const perClient, perHTTP = 40, 30
	var wg stdsync.WaitGroup
	for i, c := range []*client{a, b} {
		wg.Go(func() {
			for k := range perClient {
				if err := c.Apply(m.Set(fmt.Sprintf("ws%d-%d", i, k), aper.NewCounter(1))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	seqs := make(map[float64]bool)
	for k := range perHTTP {
		code, out := post(t, base+"/api/submit/r/1", "", m.Set(fmt.Sprintf("http-%d", k), aper.NewCounter(int64(k))))
		seq, _ := out["seq"].(float64)
		if code != http.StatusOK || seq == 0 || seqs[seq] {
			t.Fatalf("submit %d: %d %v", k, code, out)
		}
		seqs[seq] = true
	}
	wg.Wait()
	if seq := quiesce(t, srv, "r/1", a, b); seq != 2*perClient+perHTTP {
		t.Fatalf("room at seq %d, want %d", seq, 2*perClient+perHTTP)
	}
	if _, ok := a.State().Get("http-29"); !ok {
		t.Fatalf("client a does not hold a transition submitted over HTTP")
	}

	code, out := post(t, base+"/api/submit/r/1", "", m.Update("missing", add(1)))
	if c, _ := out["conflict"].(map[string]any); code != http.StatusConflict || c["kind"] != "not found" {
		t.Fatalf("update of a missing key: %d %v, want 409 and a not-found conflict", code, out)
	}

	resp, err := http.Get(base + "/api/state/r/1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Room  string
		Seq   uint64
		State json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Room != "r/1" || st.Seq != 2*perClient+perHTTP {
		t.Fatalf("state: %v %+v", err, st)
	}
	want, _ := aper.JSON.Marshal(a.State())
	if !bytes.Equal(st.State, want) {
		t.Fatalf("state over HTTP\n%s\nwant\n%s", st.State, want)
	}

	resp, err = http.Get(base + "/api/rooms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rooms struct{ Rooms []struct{ Name string } }
	if err := json.NewDecoder(resp.Body).Decode(&rooms); err != nil || len(rooms.Rooms) != 1 || rooms.Rooms[0].Name != "r/1" {
		t.Fatalf("rooms: %v %+v", err, rooms)
	}
}

// sseEvent is one event of a stream.
type sseEvent struct {
	id, typ, data string
}

// readSSE reads events from a /log stream until n were read or the stream ends.
func readSSE(t *testing.T, url, lastID string, n int) []sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	var evs []sseEvent
	var ev sseEvent
	sc := bufio.NewScanner(resp.Body)
	for len(evs) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			evs = append(evs, ev)
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
	return evs
}

// The SSE stream of a room's log gives every transition once, in order, across a reconnect
// with Last-Event-ID, and across a restart of the server on the same journal.
func TestAPILogSSEResumes(t *testing.T) {
	j := journal.NewMemory()
	srv := newMapServer(t, apersync.WithJournal(j))
	base := apiServer(t, srv)
	for k := range 10 {
		if code, out := post(t, base+"/api/submit/log", "", m.Set(fmt.Sprint("k", k), aper.NewCounter(int64(k)))); code != http.StatusOK {
			t.Fatalf("submit: %d %v", code, out)
		}
	}
	var got []sseEvent
	got = append(got, readSSE(t, base+"/api/log/log?from=1", "", 4)...)
	got = append(got, readSSE(t, base+"/api/log/log", got[len(got)-1].id, 3)...)

	// Another server on the same journal: the follower resumes from where it was.
	srv.Close()
	srv2 := newMapServer(t, apersync.WithJournal(j))
	base2 := apiServer(t, srv2)
	for k := 10; k < 15; k++ {
		if code, out := post(t, base2+"/api/submit/log", "", m.Set(fmt.Sprint("k", k), aper.NewCounter(int64(k)))); code != http.StatusOK {
			t.Fatalf("submit: %d %v", code, out)
		}
	}
	got = append(got, readSSE(t, base2+"/api/log/log", got[len(got)-1].id, 8)...)
	if len(got) != 15 {
		t.Fatalf("%d events, want 15", len(got))
	}
	for i, ev := range got {
		var e aper.Event[cmt]
		if err := aper.JSON.Unmarshal([]byte(ev.data), &e); err != nil {
			t.Fatalf("event %d: %v: %s", i, err, ev.data)
		}
		if ev.typ != "transition" || ev.id != strconv.Itoa(i+1) || e.Seq != uint64(i+1) || e.Transition.Key != fmt.Sprint("k", i) {
			t.Fatalf("event %d: %+v (%+v), want Seq %d setting k%d", i, ev, e, i+1, i)
		}
	}
}

// Server.Follow waits for transitions to come, and yields ErrNoJournal without a journal.
func TestFollow(t *testing.T) {
	srv, n := memoryServer(t, nil, apersync.WithJournal(journal.NewMemory()))
	a := dial(t, n.Dialer("server"), "f")
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	next, stop := iter.Pull2(srv.Follow(ctx, "f", 0))
	defer stop()
	for k := range 5 {
		mustApply(t, a, m.Set(fmt.Sprint(k), aper.NewCounter(1)))
		ev, err, ok := next()
		if !ok || err != nil || ev.Seq != uint64(k+1) || ev.Client != a.ID() {
			t.Fatalf("follow %d: %+v %v %v", k, ev, err, ok)
		}
	}
	cancel()
	if _, err, _ := next(); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}

	plain := newMapServer(t)
	for _, err := range plain.Follow(ctxT(t), "f", 1) {
		if !errors.Is(err, apersync.ErrNoJournal) {
			t.Fatalf("follow without a journal: %v", err)
		}
	}
}

// The API asks the authentication hook: no token, 401; a room the identity does not list, 403;
// the permission hook sees the identity and its refusal is a 403 with its code.
func TestAPIAuth(t *testing.T) {
	srv := newMapServer(t,
		apersync.WithAuth(func(_ context.Context, req apersync.AuthRequest) (apersync.Identity, error) {
			if req.Token != "secret" {
				return apersync.Identity{}, errors.New("bad token")
			}
			return apersync.Identity{Client: "ops", Rooms: []string{"mine"}}, nil
		}),
		apersync.WithPermission(func(id apersync.Identity, _ string, _ *cmap, tr cmt) error {
			if tr.Key == "no" {
				return fmt.Errorf("%s may not", id.Client)
			}
			return nil
		}))
	base := apiServer(t, srv)
	if code, out := post(t, base+"/api/submit/mine", "", m.Set("x", aper.NewCounter(1))); code != http.StatusUnauthorized || out["code"] != "unauthorized" {
		t.Fatalf("no token: %d %v", code, out)
	}
	if code, out := post(t, base+"/api/submit/other", "secret", m.Set("x", aper.NewCounter(1))); code != http.StatusForbidden {
		t.Fatalf("other room: %d %v", code, out)
	}
	if code, out := post(t, base+"/api/submit/mine", "secret", m.Set("no", aper.NewCounter(1))); code != http.StatusForbidden || out["code"] != "forbidden" {
		t.Fatalf("refused by the permission hook: %d %v", code, out)
	}
	if code, out := post(t, base+"/api/submit/mine", "secret", m.Set("x", aper.NewCounter(1))); code != http.StatusOK || out["seq"] != float64(1) {
		t.Fatalf("allowed: %d %v", code, out)
	}
	resp, err := http.Get(base + "/api/rooms?access_token=secret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("rooms with the query's token: %d", resp.StatusCode)
	}
}

// A room that the factory says does not exist (ErrNoRoom) is a 404 of the API, for reading and
// for submitting; a factory that fails otherwise is the server's failure, a 500; a name that
// no client could dial (empty, not UTF-8) is the request's fault, a 400.
func TestAPINoRoom(t *testing.T) {
	srv, err := apersync.NewServer(func(ctx context.Context, room string) (*cmap, error) {
		switch {
		case strings.HasPrefix(room, "r/"):
			return aper.NewMap[string, *aper.Counter, aper.CounterTransition](), nil
		case room == "broken":
			return nil, errors.New("the store is down")
		}
		return nil, fmt.Errorf("room %q: %w", room, apersync.ErrNoRoom)
	})
	if err != nil {
		t.Fatal(err)
	}
	base := apiServer(t, srv)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/api/state/r/1", http.StatusOK},
		{"/api/state/nope", http.StatusNotFound},
		{"/api/state/nope/deeper", http.StatusNotFound},
		{"/api/state/broken", http.StatusInternalServerError},
		{"/api/state/", http.StatusBadRequest},    // no room at all
		{"/api/state/%ff", http.StatusBadRequest}, // a name no client can dial
		{"/api/log/r/%fe", http.StatusBadRequest}, // before it finds the journal missing
	} {
		code, out := request(t, "GET", base+tc.path, "", nil)
		if code != tc.want {
			t.Errorf("GET %s: %d %v, want %d", tc.path, code, out, tc.want)
		}
		want := map[int]string{http.StatusNotFound: "no-room", http.StatusInternalServerError: "room", http.StatusBadRequest: "protocol"}[code]
		if code != http.StatusOK && out["code"] != want {
			t.Errorf("GET %s: code %v, want %s", tc.path, out["code"], want)
		}
	}
	if code, out := post(t, base+"/api/submit/nope", "", m.Set("a", aper.NewCounter(1))); code != http.StatusNotFound {
		t.Errorf("POST /api/submit/nope: %d %v, want 404", code, out)
	}
	if code, out := post(t, base+"/api/submit/r/1", "", m.Set("a", aper.NewCounter(1))); code != http.StatusOK {
		t.Errorf("POST /api/submit/r/1: %d %v, want 200", code, out)
	}
}

// Every error of the API is a JSON object, those of paths and methods it does not serve too;
// a method the path does not take is a 405 that says which it takes, and a null body a 400.
func TestAPIErrorsAreJSON(t *testing.T) {
	base := apiServer(t, newMapServer(t))
	for _, tc := range []struct {
		method, path string
		body         string
		want         int
		allow        string
	}{
		{"PUT", "/api/submit/r/1", "{}", http.StatusMethodNotAllowed, "POST"},
		{"GET", "/api/submit/r/1", "", http.StatusMethodNotAllowed, "POST"},
		{"POST", "/api/rooms", "", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"DELETE", "/api/state/r/1", "", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"GET", "/api/unknown", "", http.StatusNotFound, ""},
		{"GET", "/api/state", "", http.StatusNotFound, ""},
		{"POST", "/api/submit", "{}", http.StatusNotFound, ""},
		{"POST", "/api/submit/r/1", "null", http.StatusBadRequest, ""},
		{"POST", "/api/submit/r/1", " null ", http.StatusBadRequest, ""},
	} {
		code, out := request(t, tc.method, base+tc.path, "", strings.NewReader(tc.body))
		if code != tc.want || out["code"] != "protocol" || out["error"] == "" {
			t.Errorf("%s %s: %d %v, want %d with a JSON error", tc.method, tc.path, code, out, tc.want)
		}
		if tc.allow != "" {
			req, _ := http.NewRequestWithContext(ctxT(t), tc.method, base+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
			}
		}
	}
}
