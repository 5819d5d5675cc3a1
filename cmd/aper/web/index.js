import { el } from "./aper.js";

// The example rooms, and the rooms this browser created (kept in localStorage).
const examples = ["todo/shopping", "text/notes", "kanban/board", "drop-four/table", "counter/lobby"];
const mine = () => JSON.parse(localStorage.getItem("aper-rooms") || "[]");

function list() {
  const rows = [...new Set([...examples, ...mine()])].map((room) => {
    const kind = room.split("/")[0];
    return el("tr", { "data-room": room },
      el("td", {}, el("a", { href: "/room/" + room }, room)),
      el("td", {}, kind),
      el("td", {}, el("a", { href: "/demo/" + room }, "demo: replicas side by side")));
  });
  document.querySelector("[data-test=rooms] tbody").replaceChildren(...rows);
}

document.getElementById("create").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  const name = f.name.value.trim().replace(/\s+/g, "-").replace(/[^\p{L}\p{N}._-]/gu, "");
  if (!name) return;
  const room = f.kind.value + "/" + name;
  const rooms = mine();
  if (!rooms.includes(room)) localStorage.setItem("aper-rooms", JSON.stringify([...rooms, room]));
  const url = location.origin + "/room/" + room;
  document.getElementById("share").replaceChildren(
    "Share this link: ", el("a", { href: url, "data-test": "share-link" }, url));
  list();
});

list();
