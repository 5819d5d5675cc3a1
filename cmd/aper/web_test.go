package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive aper serve's pages in a headless Chromium with chromedp. Without a
// Chromium they are skipped, with a message saying how to install one, except in CI (CI=true),
// where they fail instead.

// chromiumPath finds a Chromium (or Chrome) to drive.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium for the browser tests: apt-get install -y chromium")
	}
	t.Skip("browser tests skipped: no Chromium on the PATH (install it with: apt-get install -y chromium)")
	return ""
}

// startBrowser starts a headless Chromium for the test; it stops at the end of the test.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	// A loaded machine can make a start miss chromedp's wait for the DevTools address: one
	// more try, then the test fails.
	var err error
	for range 2 {
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		browser, cancelBrowser := chromedp.NewContext(alloc)
		if err = chromedp.Do(browser); err == nil { // starts the browser, with no timeout
			t.Cleanup(func() {
				cancelBrowser()
				cancelAlloc()
			})
			return browser
		}
		cancelBrowser()
		cancelAlloc()
	}
	t.Fatalf("start %s: %v", path, err)
	return nil
}

// serveWeb runs aper serve in this process, with a data folder of the test, and returns the
// base URL of its pages.
func serveWeb(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { // ends when ctx is cancelled, in the cleanup
		done <- serve(ctx, []string{"-http", "127.0.0.1:0", "-quic", "", "-data", filepath.Join(t.TempDir(), "data")}, pw, io.Discard)
		pw.Close()
	}()
	lines := make(chan string, 16)
	go func() { // ends when serve returns and closes the pipe
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		for range lines {
		}
	})
	rx := regexp.MustCompile(`^aper: open (http://\S+) in a browser$`)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve stopped before it served")
			}
			if m := rx.FindStringSubmatch(l); m != nil {
				base := m[1]
				// The wasm program is built on its first request: do it before any page
				// waits for it, so that the pages' timeouts do not include the build.
				resp, err := http.Get(base + "/aper.wasm")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET /aper.wasm: %s", resp.Status)
				}
				return base
			}
		case <-timeout:
			t.Fatal("serve did not print its address in 30s")
		}
	}
}

// tab is one page in its own browser context (its own storage and connections).
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
}

func newTab(t *testing.T, browser context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: new tab: %v", name, err)
	}
	return &tab{t: t, name: name, ctx: ctx}
}

// fail keeps a screenshot of the tab in a folder that outlives the test, and fails the test.
func (b *tab) fail(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		dir, err := os.MkdirTemp("", "aper-browser-"+strings.ReplaceAll(b.t.Name(), "/", "-")+"-")
		if err == nil {
			p := filepath.Join(dir, b.name+".png")
			if os.WriteFile(p, png, 0o644) == nil {
				msg += "\nscreenshot of " + b.name + ": " + p
			}
		}
	}
	b.t.Fatalf("%s: %s", b.name, msg)
}

// do runs the steps, failing the test (with a screenshot) on an error.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression into a T.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is truthy.
func (b *tab) waitFor(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		b.fail("waiting for %s (%s): %v", what, expr, err)
	}
}

// open navigates to the page and waits until its client is connected.
func (b *tab) open(url string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url))
	b.waitFor("connected", `document.querySelector("[data-test=status]")?.textContent === "connected"`)
}

// items returns the texts of a todo list, in order.
func (b *tab) items(scope string) []string {
	return eval[[]string](b, `Array.from(document.querySelectorAll(`+jsString(scope+` [data-test=item-text]`)+`)).map(e => e.textContent)`)
}

// click clicks the element in one step of the page, so that a re-render between finding it and
// clicking it cannot detach it.
func (b *tab) click(what, sel string) {
	b.t.Helper()
	if !eval[bool](b, `(() => { const e = document.querySelector(`+jsString(sel)+`); if (!e) return false; e.click(); return true })()`) {
		b.fail("%s: no %s", what, sel)
	}
}

// addItem adds an item to a todo list through its form.
func (b *tab) addItem(scope, text string) {
	b.t.Helper()
	b.do("add "+text,
		chromedp.SetValue(chromedp.CSS(scope+" [data-test=new-item]"), text),
		chromedp.Click(chromedp.CSS(scope+" [data-test=add]")))
	b.waitFor("item "+text, `Array.from(document.querySelectorAll(`+jsString(scope+` [data-test=item-text]`)+`)).some(e => e.textContent === `+jsString(text)+`)`)
}

// deleteItem deletes the first item whose text is text.
func (b *tab) deleteItem(scope, text string) {
	b.t.Helper()
	ok := eval[bool](b, `(() => { const li = Array.from(document.querySelectorAll(`+jsString(scope+` li`)+`)).find(li => li.querySelector("[data-test=item-text]")?.textContent === `+jsString(text)+`); if (!li) return false; li.querySelector("[data-test=delete]").click(); return true })()`)
	if !ok {
		b.fail("no item %q to delete", text)
	}
}

// sameItems waits until every tab shows the list want (in any order), and they agree on the order.
func sameItems(t *testing.T, scope string, want []string, tabs ...*tab) {
	t.Helper()
	sorted := slices.Sorted(slices.Values(want))
	for _, b := range tabs {
		b.waitFor("the list "+strings.Join(sorted, ", "), `JSON.stringify(Array.from(document.querySelectorAll(`+jsString(scope+` [data-test=item-text]`)+`)).map(e => e.textContent).sort()) === `+jsString(mustJSON(sorted)))
	}
	first := tabs[0].items(scope)
	for _, b := range tabs[1:] {
		if got := b.items(scope); !slices.Equal(got, first) {
			b.fail("the list is %q; %s shows %q", got, tabs[0].name, first)
		}
	}
}

func jsString(s string) string { return mustJSON(s) }

func mustJSON(v any) string {
	var b strings.Builder
	enc := jsonEncoder(&b)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSpace(b.String())
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// TestBrowser runs the pages in a headless Chromium: one server and one browser for every case,
// which run one after the other so that the browser's time stays small.
func TestBrowser(t *testing.T) {
	browser := startBrowser(t)
	base := serveWeb(t)

	// The front page lists the example rooms and creates a room with a link to share.
	t.Run("rooms", func(t *testing.T) {
		p := newTab(t, browser, "visitor")
		p.do("open /", chromedp.Navigate(base+"/"))
		p.waitFor("the example rooms", `["todo/shopping", "text/notes", "kanban/board", "drop-four/table", "counter/lobby"].every(r => document.querySelector('[data-test=rooms] tr[data-room="' + r + '"] a[href="/room/' + r + '"]'))`)
		p.do("create a room",
			chromedp.SetValue(chromedp.CSS("[data-test=room-name]"), "my list"),
			chromedp.SetValue(chromedp.CSS("[data-test=room-kind]"), "kanban"),
			chromedp.Click(chromedp.CSS("[data-test=create-room]")))
		p.waitFor("its link", `document.querySelector("[data-test=share-link]")?.href === location.origin + "/room/kanban/my-list"`)
		p.waitFor("it in the list", `!!document.querySelector('[data-test=rooms] tr[data-room="kanban/my-list"]')`)
		p.open(eval[string](p, `document.querySelector("[data-test=share-link]").href`))
		p.waitFor("the board", `!!document.querySelector("[data-test=starter]")`)
	})

	// Two users of one todo room add and delete items; one goes offline, changes the list,
	// and comes back; both end with the same list.
	t.Run("todo", func(t *testing.T) {
		room := base + "/room/" + uniqueName("todo/e2e")
		a, b := newTab(t, browser, "alice"), newTab(t, browser, "bob")
		a.open(room)
		b.open(room)
		a.addItem("", "milk")
		a.addItem("", "eggs")
		b.addItem("", "bread")
		sameItems(t, "", []string{"milk", "eggs", "bread"}, a, b)
		b.deleteItem("", "milk")
		sameItems(t, "", []string{"eggs", "bread"}, a, b)

		a.do("go offline", chromedp.Click(chromedp.CSS("[data-test=offline]")))
		a.waitFor("disconnected", `document.querySelector("[data-test=status]").textContent === "disconnected"`)
		a.addItem("", "butter")
		a.deleteItem("", "eggs")
		b.addItem("", "jam")
		if n := eval[int](a, `aperClient.pending()`); n != 2 {
			a.fail("offline with %d pending changes, want 2", n)
		}
		sameItems(t, "", []string{"eggs", "bread", "jam"}, b) // without alice's offline changes
		a.do("come back", chromedp.Click(chromedp.CSS("[data-test=offline]")))
		sameItems(t, "", []string{"bread", "butter", "jam"}, a, b)
		a.waitFor("nothing pending", `aperClient.pending() === 0`)
	})

	// Two replicas side by side in the demo view: one is partitioned, both change the list (one
	// edits an item the other deletes), the partition heals; they converge, and the edit of
	// the deleted item is rejected in the sender's log and rolls back.
	t.Run("demo", func(t *testing.T) {
		d := newTab(t, browser, "demo")
		d.do("open the demo", chromedp.Navigate(base+"/demo/"+uniqueName("todo/demo")))
		d.waitFor("two connected replicas", `Array.from(document.querySelectorAll("[data-test=replica] [data-test=status]")).filter(e => e.textContent === "connected").length === 2`)
		alice, bob := `[data-name=alice]`, `[data-name=bob]`
		d.addItem(alice, "shared")
		d.waitFor("bob sees it", `document.querySelector('[data-name=bob] [data-test=item-text]')?.textContent === "shared"`)

		d.do("partition alice", chromedp.Click(chromedp.CSS(alice+" [data-test=partition]")))
		d.waitFor("alice disconnected", `document.querySelector('[data-name=alice] [data-test=status]').textContent === "disconnected"`)
		// alice edits the item, bob deletes it and adds another.
		ok := eval[bool](d, `(() => {
			const c = document.querySelector('[data-name=alice]').client;
			const id = c.state().items[0].id;
			return c.apply({op: "edit", id, text: "shared, edited"}) === null;
		})()`)
		if !ok {
			d.fail("alice's edit was not applied to her view")
		}
		d.waitFor("alice's optimistic edit", `document.querySelector('[data-name=alice] [data-test=item-text]')?.textContent === "shared, edited"`)
		d.deleteItem(bob, "shared")
		d.addItem(bob, "bob's")
		d.addItem(alice, "alice's")

		d.do("heal alice", chromedp.Click(chromedp.CSS(alice+" [data-test=partition]")))
		sameItems(t, alice, []string{"bob's", "alice's"}, d)
		sameItems(t, bob, []string{"bob's", "alice's"}, d)
		if a, b := d.items(alice), d.items(bob); !slices.Equal(a, b) {
			d.fail("alice shows %q, bob %q", a, b)
		}
		d.waitFor("the rejection in alice's log", `Array.from(document.querySelectorAll('[data-name=alice] [data-test=frames] div')).some(e => e.textContent.startsWith("← rejected"))`)
		d.waitFor("the rejection shown to alice", `document.querySelector('[data-name=alice] [data-test=message]').textContent.includes("rejected")`)
		if eval[bool](d, `Array.from(document.querySelectorAll('[data-name=bob] [data-test=frames] div')).some(e => e.textContent.startsWith("← rejected"))`) {
			d.fail("bob's log shows a rejection: only its sender gets one")
		}
	})

	// Two users of a kanban board: one sets it up and adds a card, the other drags it to another
	// list, and both see it there.
	t.Run("kanban", func(t *testing.T) {
		room := base + "/room/" + uniqueName("kanban/e2e")
		a, b := newTab(t, browser, "alice"), newTab(t, browser, "bob")
		a.open(room)
		b.open(room)
		a.click("start the board", "[data-test=starter]")
		b.waitFor("three lists", `document.querySelectorAll("[data-test=list]").length === 3`)
		a.do("add a card", chromedp.Evaluate[chromedp.Void](`(() => {
			const input = document.querySelector('[data-name="To do"] [data-test=new-card]');
			input.value = "plan";
			input.form.requestSubmit();
		})()`))
		b.waitFor("the card in To do", `document.querySelector('[data-name="To do"] [data-test=card-text]')?.textContent === "plan"`)
		// An HTML drag and drop, as the browser dispatches it.
		b.do("drag it to Done", chromedp.Evaluate[chromedp.Void](`(() => {
			const dt = new DataTransfer();
			const card = document.querySelector('[data-name="To do"] [data-test=card]');
			card.dispatchEvent(new DragEvent("dragstart", {bubbles: true, dataTransfer: dt}));
			document.querySelector('[data-name="Done"]').dispatchEvent(new DragEvent("drop", {bubbles: true, cancelable: true, dataTransfer: dt}));
		})()`))
		for _, x := range []*tab{a, b} {
			x.waitFor("the card in Done", `document.querySelector('[data-name="Done"] [data-test=card-text]')?.textContent === "plan" && !document.querySelector('[data-name="To do"] [data-test=card]')`)
		}
	})

	// Two players of drop-four: each takes a seat, X moves, O's move out of turn is refused by
	// O's own replica, and both see the disc.
	t.Run("drop-four", func(t *testing.T) {
		room := base + "/room/" + uniqueName("drop-four/e2e")
		x, o := newTab(t, browser, "x"), newTab(t, browser, "o")
		x.open(room)
		o.open(room)
		x.click("x sits", "[data-test=join]")
		o.waitFor("x seated", `document.querySelector("[data-test=game-info]").textContent.startsWith("Waiting")`)
		o.click("o sits", "[data-test=join]")
		x.waitFor("x's turn", `document.querySelector("[data-test=game-info]").textContent.includes("your turn")`)
		o.click("o drops out of turn", `[data-test=cell][data-col="2"]`)
		o.waitFor("refused", `document.querySelector("[data-test=message]").textContent.includes("not your turn")`)
		x.click("x drops", `[data-test=cell][data-col="3"]`)
		for _, b := range []*tab{x, o} {
			b.waitFor("X's disc at the bottom of column 3", `document.querySelectorAll("[data-test=cell]")[5*7+3].classList.contains("x") && document.querySelectorAll("[data-test=cell].x, [data-test=cell].o").length === 1`)
		}
		o.waitFor("o's turn", `document.querySelector("[data-test=game-info]").textContent.includes("your turn")`)
	})

	// Two users of a text room see each other's cursors where they put them.
	t.Run("text cursors", func(t *testing.T) {
		room := base + "/room/" + uniqueName("text/e2e")
		a, b := newTab(t, browser, "alice"), newTab(t, browser, "bob")
		a.open(room)
		b.open(room)
		a.do("name alice", chromedp.SetValue(chromedp.CSS("[data-test=name]"), "alice"))
		b.do("name bob", chromedp.SetValue(chromedp.CSS("[data-test=name]"), "bob"))
		a.do("type", chromedp.SendKeys(chromedp.CSS("[data-test=doc]"), "hello world"))
		b.waitFor("alice's text", `document.querySelector("[data-test=doc]").value === "hello world"`)
		// alice puts her cursor after "hello", bob his at the end.
		setCursor := func(x *tab, pos int) {
			x.do("cursor", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const d = document.querySelector("[data-test=doc]"); d.focus(); d.setSelectionRange(%d, %d); d.dispatchEvent(new Event("keyup")); })()`, pos, pos)))
		}
		setCursor(a, 5)
		setCursor(b, 11)
		b.waitFor("alice's cursor at 5", `document.querySelector('[data-test=mirror] [data-test=cursor][data-name=alice]')?.dataset.pos === "5"`)
		a.waitFor("bob's cursor at 11", `document.querySelector('[data-test=mirror] [data-test=cursor][data-name=bob]')?.dataset.pos === "11"`)
		// The marker sits in the text where the cursor is: "hello" before alice's.
		if got := eval[string](b, `(() => { const m = document.querySelector('[data-test=mirror]'); let s = ""; for (const n of m.childNodes) { if (n.dataset?.name === "alice") return s; s += n.dataset ? "" : n.textContent; } return null; })()`); got != "hello" {
			b.fail("the text before alice's cursor is %q, want %q", got, "hello")
		}
	})
}

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// TestBrowserFigures measures, in the headless Chromium, the time from a room page's navigation
// to its first state shown, and the time from one browser's change to the other's screen
// (median of 20). It is a measurement, not a check: it runs only with APER_BROWSER_FIGURES=1, and
// logs its figures (go test -v).
func TestBrowserFigures(t *testing.T) {
	if os.Getenv("APER_BROWSER_FIGURES") != "1" {
		t.Skip("a measurement: set APER_BROWSER_FIGURES=1 to run it")
	}
	browser := startBrowser(t)
	base := serveWeb(t)
	room := base + "/room/" + uniqueName("todo/figures")

	var loads []float64
	for i := range 6 {
		b := newTab(t, browser, fmt.Sprintf("load%d", i))
		b.open(room)
		loads = append(loads, eval[float64](b, `aperFirstState`))
	}
	// Each load is in a new browser context: no HTTP cache, the wasm program fetched and compiled.
	t.Logf("page load to first state: median %.0f ms of %d, each in a new browser context (%v ms)", median(loads), len(loads), round(loads))

	a, b := newTab(t, browser, "alice"), newTab(t, browser, "bob")
	a.open(room)
	b.open(room)
	b.do("watch", chromedp.Evaluate[chromedp.Void](`(() => {
		globalThis.seen = {};
		new MutationObserver(() => {
			const now = performance.timeOrigin + performance.now();
			for (const e of document.querySelectorAll("[data-test=item-text]")) if (!(e.textContent in seen)) seen[e.textContent] = now;
		}).observe(document.querySelector("[data-test=items]"), {childList: true, subtree: true, characterData: true});
	})()`))
	var lat []float64
	for i := range 20 {
		item := fmt.Sprintf("item %d", i)
		t0 := eval[float64](a, `(() => {
			const input = document.querySelector("[data-test=new-item]");
			input.value = `+jsString(item)+`;
			const t0 = performance.timeOrigin + performance.now();
			input.form.requestSubmit();
			return t0;
		})()`)
		b.waitFor(item, `globalThis.seen[`+jsString(item)+`] !== undefined`)
		lat = append(lat, eval[float64](b, `globalThis.seen[`+jsString(item)+`]`)-t0)
	}
	t.Logf("one browser's change to the other's screen: median %.1f ms of 20 (min %.1f, max %.1f)", median(lat), slices.Min(lat), slices.Max(lat))
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round(xs []float64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x + 0.5)
	}
	return out
}
