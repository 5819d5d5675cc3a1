package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aper-go/aper"
	"github.com/aper-go/aper/conflict"
	"github.com/aper-go/aper/journal"
)

// API returns the server's HTTP API, for services that are not aper clients, as an http.Handler
// to mount on any mux (under a prefix, with http.StripPrefix). Its paths, relative to where it
// is mounted:
//
//	GET  /rooms              the rooms loaded or in the journal: {"rooms":[{"name":"a","loaded":true}]}
//	GET  /state/{room...}    a room's state in JSON and its Seq: {"room":"a","seq":12,"state":...}
//	POST /submit/{room...}   the body, a transition in JSON, ordered as Submit orders it:
//	                         200 {"seq":13}, or 409 {"conflict":{"kind":"not found",...}},
//	                         or 403 {"error":...,"code":"forbidden"}
//	GET  /log/{room...}      the room's log as Server-Sent Events (Follow), from the query's
//	                         from=SEQ (default 1), or after the Last-Event-ID header's Seq: each
//	                         event has the id SEQ, the type "transition" and the data
//	                         {"seq":13,"client":"...","time":"...","transition":...}; an error
//	                         ends the stream with an event of type "error"
//
// A room name in a path may hold slashes (/state/counter/lobby). Every request goes through the
// authentication hook (WithAuth) first, with the room (empty for /rooms), the token of an
// "Authorization: Bearer TOKEN" header (or of the query's access_token, for browsers'
// EventSource, which sets no header) and the *http.Request as its Metadata; it is refused with
// 401 if the hook says no, and with 403 for a room that the Identity's Rooms does not list. A
// submitted transition's Event.Client is the Identity's Client, and the permission hook sees
// the Identity. Errors are JSON objects {"error":"...","code":"..."}: 400 for a malformed or
// null body, or a room name that no client could dial (empty, over 256 bytes, not UTF-8); 404
// for a path the API does not serve, or a room whose factory says there is none (ErrNoRoom);
// 405 (with Allow) for a path asked with another method; 503 while the server stops or a room's
// owner cannot be reached; 429 over a limit; 500 for another failure of the factory or the
// journal. /log needs a journal (WithJournal); without one it answers 501.
func (s *Server[S, T]) API() http.Handler {
	a := &api[S, T]{s: s}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rooms", a.rooms)
	mux.HandleFunc("GET /state/{room...}", a.state)
	mux.HandleFunc("POST /submit/{room...}", a.submit)
	mux.HandleFunc("GET /log/{room...}", a.log)
	mux.HandleFunc("/", a.unknown)
	for _, p := range []string{"/state", "/submit", "/log"} {
		// Not the mux's redirect to p+"/", which would point outside where the API is mounted.
		mux.HandleFunc(p, a.unknown)
	}
	return mux
}

// unknown answers what no route takes, in JSON as every other error: 405 (with Allow) for a
// path of the API asked with another method, 404 for any other path.
func (a *api[S, T]) unknown(w http.ResponseWriter, r *http.Request) {
	allow := ""
	switch p := r.URL.Path; {
	case p == "/rooms", strings.HasPrefix(p, "/state/"), strings.HasPrefix(p, "/log/"):
		allow = "GET, HEAD"
	case strings.HasPrefix(p, "/submit/"):
		allow = "POST"
	}
	if allow == "" {
		fail(w, http.StatusNotFound, codeProtocol, "the API has no path %q", r.URL.Path)
		return
	}
	w.Header().Set("Allow", allow)
	fail(w, http.StatusMethodNotAllowed, codeProtocol, "%s %s: the path takes %s", r.Method, r.URL.Path, allow)
}

type api[S aper.StateMachine[S, T], T any] struct {
	s *Server[S, T]
}

// apiError is the body of an error answer.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func fail(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, apiError{Error: fmt.Sprintf(format, args...), Code: code})
}

// room returns the room that r's path names, or answers 400 for a name that no client could
// dial (empty, too long, not UTF-8) and returns false.
func (a *api[S, T]) room(w http.ResponseWriter, r *http.Request) (string, bool) {
	room := r.PathValue("room")
	if why := badRoomName(room); why != "" {
		fail(w, http.StatusBadRequest, codeProtocol, "%s", why)
		return "", false
	}
	return room, true
}

// identity asks the authentication hook who makes request r for room (empty: none in
// particular); ok false means the request was refused and answered.
func (a *api[S, T]) identity(w http.ResponseWriter, r *http.Request, room string) (Identity, bool) {
	s := a.s
	if s.cfg.auth == nil {
		return Identity{}, true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = r.URL.Query().Get("access_token")
	}
	var id Identity
	err := catch("the auth hook", func() (err error) {
		id, err = s.cfg.auth(r.Context(), AuthRequest{Room: room, Token: token, Metadata: r})
		return err
	})
	if p := (*panicError)(nil); errors.As(err, &p) {
		s.logPanic(room, p)
		err = errors.New("internal error")
	}
	if err != nil {
		fail(w, http.StatusUnauthorized, codeAuth, "%v", err)
		return Identity{}, false
	}
	if room != "" && id.Rooms != nil && !slices.Contains(id.Rooms, room) {
		fail(w, http.StatusForbidden, codeAuth, "not allowed in room %q", room)
		return Identity{}, false
	}
	id.Agent = false
	return id, true
}

// roomInfo is one room of the /rooms answer.
type roomInfo struct {
	Name   string `json:"name"`
	Loaded bool   `json:"loaded"`
}

func (a *api[S, T]) rooms(w http.ResponseWriter, r *http.Request) {
	id, ok := a.identity(w, r, "")
	if !ok {
		return
	}
	s := a.s
	loaded := make(map[string]bool)
	s.mu.Lock()
	for name := range s.rooms {
		loaded[name] = true
	}
	s.mu.Unlock()
	names := make([]string, 0, len(loaded))
	for name := range loaded {
		names = append(names, name)
	}
	if j := s.cfg.journal; j != nil {
		kept, err := j.Rooms(r.Context())
		if err != nil {
			fail(w, http.StatusInternalServerError, codeRoom, "%v", err)
			return
		}
		names = append(names, kept...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	out := make([]roomInfo, 0, len(names))
	for _, name := range names {
		if id.Rooms == nil || slices.Contains(id.Rooms, name) {
			out = append(out, roomInfo{Name: name, Loaded: loaded[name]})
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Rooms []roomInfo `json:"rooms"`
	}{out})
}

func (a *api[S, T]) state(w http.ResponseWriter, r *http.Request) {
	room, ok := a.room(w, r)
	if !ok {
		return
	}
	if _, ok := a.identity(w, r, room); !ok {
		return
	}
	st, seq, err := a.s.Snapshot(r.Context(), room)
	if err != nil {
		a.failErr(w, err)
		return
	}
	data, err := aper.JSON.Marshal(st)
	if err != nil {
		fail(w, http.StatusInternalServerError, codeProtocol, "encode the state: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Room  string          `json:"room"`
		Seq   uint64          `json:"seq"`
		State json.RawMessage `json:"state"`
	}{room, seq, data})
}

func (a *api[S, T]) submit(w http.ResponseWriter, r *http.Request) {
	room, ok := a.room(w, r)
	if !ok {
		return
	}
	id, ok := a.identity(w, r, room)
	if !ok {
		return
	}
	limit := int64(a.s.cfg.maxMessage)
	if a.s.cfg.maxTransition > 0 {
		limit = int64(a.s.cfg.maxTransition)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		fail(w, http.StatusRequestEntityTooLarge, codeSize, "the transition is over %d bytes", limit)
		return
	}
	var t T
	if aper.IsNull(body) {
		fail(w, http.StatusBadRequest, codeProtocol, "the body is null, want a transition")
		return
	}
	if err := unmarshal(aper.JSON, body, &t); err != nil {
		fail(w, http.StatusBadRequest, codeProtocol, "decode the transition: %v", err)
		return
	}
	seq, err := a.s.Submit(r.Context(), room, id, t)
	var c *conflict.Conflict
	var re *RefusedError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, struct {
			Seq uint64 `json:"seq"`
		}{seq})
	case errors.As(err, &c):
		writeJSON(w, http.StatusConflict, struct {
			Conflict *conflict.Conflict `json:"conflict"`
		}{c})
	case errors.As(err, &re):
		fail(w, http.StatusForbidden, re.Code, "%s", re.Message)
	default:
		a.failErr(w, err)
	}
}

// failErr answers an error of the server's (not of the request).
func (a *api[S, T]) failErr(w http.ResponseWriter, err error) {
	var se *ServerError
	var oe *OwnerError
	switch {
	case errors.Is(err, ErrNoRoom):
		fail(w, http.StatusNotFound, codeNoRoom, "%v", err)
	case errors.As(err, &oe):
		fail(w, http.StatusServiceUnavailable, codeRoom, "%v", err)
	case errors.As(err, &se) && se.Code == codeLimit:
		fail(w, http.StatusTooManyRequests, se.Code, "%s", se.Message)
	case errors.As(err, &se):
		fail(w, http.StatusServiceUnavailable, se.Code, "%s", se.Message)
	case errors.Is(err, ErrServerClosed):
		fail(w, http.StatusServiceUnavailable, codeShutdown, "%v", err)
	default:
		fail(w, http.StatusInternalServerError, codeRoom, "%v", err)
	}
}

// log streams a room's log as Server-Sent Events.
func (a *api[S, T]) log(w http.ResponseWriter, r *http.Request) {
	room, ok := a.room(w, r)
	if !ok {
		return
	}
	if _, ok := a.identity(w, r, room); !ok {
		return
	}
	if a.s.cfg.journal == nil {
		fail(w, http.StatusNotImplemented, "journal", "following a room's log needs the server's journal")
		return
	}
	from := uint64(1)
	if q := r.URL.Query().Get("from"); q != "" {
		n, err := strconv.ParseUint(q, 10, 64)
		if err != nil {
			fail(w, http.StatusBadRequest, codeProtocol, "from=%q is not a Seq", q)
			return
		}
		from = n
	}
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		n, err := strconv.ParseUint(last, 10, 64)
		if err != nil || n == ^uint64(0) {
			fail(w, http.StatusBadRequest, codeProtocol, "Last-Event-ID %q is not a Seq", last)
			return
		}
		from = n + 1
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	var buf []byte
	for ev, err := range a.s.Follow(r.Context(), room, from) {
		if err != nil {
			if r.Context().Err() != nil {
				return // the client went away
			}
			code := codeRoom
			if errors.Is(err, journal.ErrCompacted) {
				code = "compacted"
			}
			b, _ := json.Marshal(apiError{Error: err.Error(), Code: code})
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
			rc.Flush()
			return
		}
		data, err := aper.JSON.Marshal(ev)
		if err != nil {
			b, _ := json.Marshal(apiError{Error: fmt.Sprintf("encode transition %d: %v", ev.Seq, err), Code: codeProtocol})
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
			rc.Flush()
			return
		}
		buf = strconv.AppendUint(append(buf[:0], "id: "...), ev.Seq, 10)
		buf = append(buf, "\nevent: transition\ndata: "...)
		buf = append(buf, data...)
		buf = append(buf, "\n\n"...)
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
