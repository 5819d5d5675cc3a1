// The pages' glue: starts the Go program (aper.wasm) and opens rooms through the global object
// it installs (see the Go package browser). Plain JavaScript, no build step.

let ready = null;

// start loads the wasm program once; it resolves to the global aper object.
export function start() {
  if (!ready) {
    ready = new Promise((resolve, reject) => {
      globalThis.onAperReady = () => resolve(globalThis.aper);
      const go = new Go();
      WebAssembly.instantiateStreaming(fetch("/aper.wasm"), go.importObject)
        .then((r) => go.run(r.instance))
        .catch(reject);
    });
  }
  return ready;
}

// wsURL is the server's WebSocket endpoint, on this page's host.
export function wsURL() {
  return (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + "/aper";
}

// open dials the room; link: true gives the client a link the page can disturb.
export async function open(room, { presence, link } = {}) {
  const aper = await start();
  return aper.dial({ kind: "room", url: wsURL(), room, presence, link: !!link });
}

// kindOf returns the kind of a room: the part of its name before the first "/".
export function kindOf(room) {
  return room.split("/")[0];
}

// myName is this browser's name in rooms, kept in localStorage.
export function myName() {
  let n = localStorage.getItem("aper-name");
  if (!n) {
    n = "guest-" + Math.random().toString(36).slice(2, 6);
    localStorage.setItem("aper-name", n);
  }
  return n;
}

// colorOf gives a stable color for a client id.
export function colorOf(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return `hsl(${h} 65% 42%)`;
}

// el builds an element: el("button", {onclick: f, class: "x"}, "text", child, ...).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}
