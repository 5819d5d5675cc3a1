// The live views of the example rooms. Each reads the room's state from the Go client
// (client.state()) and sends actions (client.apply); the rules are Go's, not these.
import { el, colorOf } from "./aper.js";

// mountRoom shows the room in box and keeps it current. It returns {render}.
export function mountRoom(box, client, kind, { name } = {}) {
  const bar = el("div", { class: "bar" });
  const status = el("span", { class: "status", "data-test": "status" });
  const pending = el("span", { class: "people", "data-test": "pending" });
  const people = el("span", { class: "people", "data-test": "people" });
  const message = el("div", { class: "error", "data-test": "message" });
  bar.append(status, pending, people);
  const body = el("div");
  box.append(bar, body, message);

  const show = (text) => {
    message.textContent = text;
    message.classList.remove("flash");
    void message.offsetWidth;
    message.classList.add("flash");
  };
  const apply = (action) => {
    const err = client.apply(action);
    if (err) show(`not applied (${err.kind}): ${err.message}`);
    return !err;
  };
  const view = { todo: todoView, counter: counterView, text: textView, kanban: kanbanView, "drop-four": dropFourView }[kind];
  if (!view) {
    body.append(el("p", { class: "error" }, `no view for rooms of kind "${kind}"`));
    return { render() {} };
  }
  const v = view(body, client, apply, name);

  const renderBar = () => {
    const st = client.status();
    status.textContent = st.state;
    status.className = "status " + st.state;
    const n = client.pending();
    pending.textContent = n ? `${n} pending` : "";
    const others = client.presence().map((p) => (p.value && p.value.name) || p.client.slice(0, 6));
    people.textContent = others.length ? "also here: " + others.join(", ") : "nobody else here";
  };
  const render = () => {
    v.render(client.state());
    renderBar();
  };
  client.onChange(render);
  client.onStatus(renderBar);
  client.onPresence(() => {
    renderBar();
    if (v.presence) v.presence(client.presence());
  });
  client.onRejection((r) => show(`rejected by the server (${r.kind}): ${r.message}`));
  render();
  return { render, show };
}

function todoView(box, client, apply) {
  const input = el("input", { type: "text", placeholder: "a new item", "data-test": "new-item", autocomplete: "off" });
  const form = el("form", { class: "row", onsubmit: (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (text && apply({ op: "add", text })) input.value = "";
  } }, input, el("button", { class: "primary", type: "submit", "data-test": "add" }, "Add"));
  const list = el("ul", { class: "todo", "data-test": "items" });
  box.append(form, list);
  let dragged = null;
  return {
    render(st) {
      const items = st.items || [];
      list.replaceChildren(...items.map((it, i) => {
        const text = el("span", { "data-test": "item-text", title: "click to edit" }, it.text);
        text.addEventListener("click", () => {
          const edit = el("input", { type: "text", value: it.text, "data-test": "edit-item" });
          edit.addEventListener("keydown", (e) => {
            if (e.key === "Enter") apply({ op: "edit", id: it.id, text: edit.value });
            if (e.key === "Enter" || e.key === "Escape") text.replaceWith(el("span", {}, it.text));
          });
          text.replaceWith(edit);
          edit.focus();
        });
        return el("li", { "data-id": it.id, draggable: "true",
          ondragstart: () => { dragged = it.id; },
          ondragover: (e) => e.preventDefault(),
          ondrop: (e) => { e.preventDefault(); if (dragged && dragged !== it.id) apply({ op: "move", id: dragged, to: i }); dragged = null; },
        }, text, el("button", { title: "delete", "data-test": "delete", onclick: () => apply({ op: "delete", id: it.id }) }, "×"));
      }));
    },
  };
}

function counterView(box, client, apply) {
  const value = el("div", { class: "counter", "data-test": "value" }, "0");
  const b = (label, action, test) => el("button", { "data-test": test, onclick: () => apply(action) }, label);
  box.append(value, el("div", { class: "row" },
    b("−1", { op: "add", n: -1 }, "dec"), b("+1", { op: "add", n: 1 }, "inc"),
    b("+10", { op: "add", n: 10 }, "inc10"), b("reset", { op: "set", n: 0 }, "reset")));
  return { render(st) { value.textContent = String(st.value || 0); } };
}

// Positions on the wire are code points; a textarea counts UTF-16 units.
const cpLen = (s) => { let n = 0; for (const _ of s) n++; return n; };
const cpAt = (s, utf16) => cpLen(s.slice(0, utf16));
const utf16At = (s, cp) => { let i = 0, n = 0; for (const ch of s) { if (n === cp) return i; i += ch.length; n++; } return s.length; };

// diff returns the replaced span between a and b: the common prefix, and what replaces what.
function diff(a, b) {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  return { pos: p, del: a.length - p - s, ins: b.slice(p, b.length - s) };
}

function textView(box, client, apply, name) {
  const area = el("textarea", { class: "doc", "data-test": "doc", spellcheck: "false", placeholder: "type here; others see it as you type" });
  const mirror = el("div", { class: "mirror", "data-test": "mirror" });
  box.append(area, el("p", { class: "note" }, "Where everyone's cursor is:"), mirror);
  let shown = "";
  let others = [];
  const sendCursor = () => {
    client.setPresence({ name: typeof name === "function" ? name() : name, cursor: cpAt(area.value, area.selectionStart) });
  };
  area.addEventListener("input", () => {
    const d = diff(shown, area.value);
    const pos = cpAt(shown, d.pos);
    const n = cpLen(shown.slice(d.pos, d.pos + d.del));
    if (apply({ op: "replace", pos, n, text: d.ins })) shown = area.value;
    else area.value = shown;
    sendCursor();
  });
  for (const ev of ["keyup", "click", "focus", "select"]) area.addEventListener(ev, sendCursor);
  const drawMirror = () => {
    const text = shown;
    const marks = others
      .filter((p) => p.value && typeof p.value.cursor === "number")
      .map((p) => ({ at: Math.min(p.value.cursor, cpLen(text)), name: p.value.name || p.client.slice(0, 6), id: p.client }))
      .sort((a, b) => a.at - b.at);
    const parts = [];
    let last = 0;
    const chars = Array.from(text);
    for (const m of marks) {
      parts.push(chars.slice(last, m.at).join(""));
      const c = el("span", { class: "cursor", "data-test": "cursor", "data-name": m.name, "data-pos": String(m.at), style: `--c: ${colorOf(m.id)}` }, el("b", {}, m.name));
      parts.push(c);
      last = m.at;
    }
    parts.push(chars.slice(last).join(""));
    mirror.replaceChildren(...parts);
  };
  return {
    render(st) {
      const text = st.text || "";
      if (text !== area.value) {
        // Someone else's edit: keep this user's selection where it was in the text.
        const d = diff(area.value, text);
        const move = (i) => (i <= d.pos ? i : i >= d.pos + d.del ? i + d.ins.length - d.del : d.pos + d.ins.length);
        const [a, b] = [move(area.selectionStart), move(area.selectionEnd)];
        const focused = document.activeElement === area;
        area.value = text;
        if (focused) {
          area.setSelectionRange(a, b);
          sendCursor();
        }
      }
      shown = text;
      drawMirror();
    },
    presence(ps) {
      others = ps;
      drawMirror();
    },
  };
}

function kanbanView(box, client, apply) {
  const board = el("div", { class: "board", "data-test": "board" });
  const listName = el("input", { type: "text", placeholder: "a new list", "data-test": "new-list", autocomplete: "off" });
  const form = el("form", { class: "row", onsubmit: (e) => {
    e.preventDefault();
    const text = listName.value.trim();
    if (text && apply({ op: "addList", text })) listName.value = "";
  } }, listName, el("button", { type: "submit", "data-test": "add-list" }, "Add list"));
  const starter = el("button", { "data-test": "starter", onclick: () => {
    for (const text of ["To do", "Doing", "Done"]) apply({ op: "addList", text });
  } }, "Start with To do, Doing, Done");
  box.append(board, form);
  let dragged = null;
  const dropOn = (e, list, before) => {
    e.preventDefault();
    e.stopPropagation();
    if (dragged && dragged !== before) apply({ op: "moveCard", id: dragged, list, before: before || "" });
    dragged = null;
  };
  return {
    render(st) {
      const lists = st.lists || [];
      // The board is drawn anew: keep what the user is typing in a list's card box.
      const drafts = {};
      let focused = null;
      for (const i of board.querySelectorAll("[data-test=new-card]")) {
        drafts[i.dataset.list] = i.value;
        if (document.activeElement === i) focused = i.dataset.list;
      }
      board.replaceChildren(...(lists.length ? [] : [starter]), ...lists.map((l) => {
        const input = el("input", { type: "text", placeholder: "a new card", "data-test": "new-card", "data-list": l.id, autocomplete: "off" });
        input.value = drafts[l.id] || "";
        if (focused === l.id) queueMicrotask(() => input.focus());
        const cards = l.cards.map((c) => {
          const text = el("span", { "data-test": "card-text", title: "click to edit" }, c.text);
          text.addEventListener("click", () => {
            const edit = el("input", { type: "text", value: c.text });
            edit.addEventListener("keydown", (e) => {
              if (e.key === "Enter") apply({ op: "editCard", id: c.id, text: edit.value });
              if (e.key === "Enter" || e.key === "Escape") edit.replaceWith(text);
            });
            text.replaceWith(edit);
            edit.focus();
          });
          return el("div", { class: "kcard", draggable: "true", "data-id": c.id, "data-test": "card",
            ondragstart: (e) => { dragged = c.id; e.dataTransfer.setData("text/plain", c.id); },
            ondragover: (e) => e.preventDefault(),
            ondrop: (e) => dropOn(e, l.id, c.id),
          }, text, el("button", { title: "delete", "data-test": "delete-card", onclick: () => apply({ op: "deleteCard", id: c.id }) }, "×"));
        });
        return el("section", { class: "klist", "data-id": l.id, "data-name": l.name, "data-test": "list",
          ondragover: (e) => e.preventDefault(),
          ondrop: (e) => dropOn(e, l.id, null),
        }, el("h4", {}, l.name, el("small", {}, ` ${l.cards.length}`)), ...cards,
        el("form", { class: "row", onsubmit: (e) => {
          e.preventDefault();
          const text = input.value.trim();
          if (text && apply({ op: "addCard", list: l.id, text })) input.value = "";
        } }, input));
      }));
    },
  };
}

// The drop-four game: the rules (whose turn, a full column, a win) are the Go game's; the page
// only draws the board and sends moves.
function dropFourView(box, client, apply) {
  const info = el("p", { "data-test": "game-info" });
  const join = el("button", { class: "primary", "data-test": "join", onclick: () => apply({ op: "join" }) }, "Take a seat");
  const grid = el("div", { class: "grid", "data-test": "grid" });
  box.append(info, join, grid);
  let timer = null;
  return {
    render(st) {
      const g = st.game;
      if (!g) return;
      const me = client.id();
      const seat = g.players.indexOf(me);
      const marks = ["X", "O"];
      let text;
      if (g.winner) text = g.winner === "draw" ? "A draw." : `${g.winner} wins.`;
      else if (!g.players[1]) text = "Waiting for two players.";
      else text = `${marks[g.turn]} to play` + (seat === g.turn ? " — your turn." : ".");
      if (seat >= 0) text += ` You play ${marks[seat]}.`;
      else if (g.players[1]) text += " You watch.";
      info.textContent = text;
      join.hidden = seat >= 0 || !!g.players[1];
      const cells = [];
      for (let r = 0; r < 6; r++) {
        for (let c = 0; c < 7; c++) {
          const v = g.cells[r * 7 + c];
          cells.push(el("button", { class: "cell " + (v === "X" ? "x" : v === "O" ? "o" : ""), "data-test": "cell", "data-col": String(c),
            title: `drop into column ${c}`, onclick: () => apply({ op: "drop", col: c }) }));
        }
      }
      grid.replaceChildren(...cells);
      clearInterval(timer);
      if (g.deadline && !g.winner) {
        const tick = () => {
          const left = Math.max(0, Math.round((g.deadline / 1e6 - Date.now()) / 1000));
          info.dataset.left = left;
          info.title = `${left} s left in this turn`;
        };
        tick();
        timer = setInterval(tick, 1000);
      }
    },
  };
}
