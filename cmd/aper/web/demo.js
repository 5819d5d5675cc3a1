import { open, kindOf, el } from "./aper.js";
import { mountRoom } from "./views.js";

const room = decodeURIComponent(location.pathname.replace(/^\/demo\//, ""));
const kind = kindOf(room);
document.title = "demo: " + room + " · aper";
document.getElementById("title").textContent = room;
document.getElementById("room").href = "/room/" + room;
const names = ["alice", "bob", "carol", "dave", "erin", "frank"];
const showPings = document.getElementById("pings");
let count = 0;

async function addReplica() {
  const name = names[count % names.length] + (count >= names.length ? count : "");
  count++;
  const panel = el("div", { class: "card replica", "data-test": "replica", "data-name": name });
  const title = el("h3", {}, name);
  const view = el("div");
  const frames = el("div", { class: "frames", "data-test": "frames" });
  panel.append(title, view, frames);
  document.getElementById("replicas").append(panel);

  const log = (cls, text) => {
    const line = el("div", { class: cls, title: text }, text);
    frames.prepend(line);
    while (frames.childElementCount > 300) frames.lastChild.remove();
  };
  const client = await open(room, { presence: { name }, link: true });
  const link = client.link;
  link.onFrame((f) => {
    if ((f.type === "ping" || f.type === "pong") && !showPings.checked) return;
    const arrow = f.dir === "up" ? "→" : "←";
    log(`${f.dir} ${f.type}${f.dropped ? " dropped" : ""}`, `${arrow} ${f.type}${f.dropped ? " (dropped)" : ""} ${f.text}`);
  });
  const v = mountRoom(view, client, kind, { name });
  client.onRejection((r) => log("note", `rolled back: the server rejected a change (${r.kind})`));

  const delay = el("select", { "data-test": "delay", onchange: () => link.delay(Number(delay.value)) },
    ...[0, 300, 1000, 3000].map((ms) => el("option", { value: ms }, ms ? `delay ${ms} ms` : "no delay")));
  const part = el("button", { "data-test": "partition" }, "Partition");
  part.addEventListener("click", () => {
    if (link.partitioned()) {
      link.heal();
      part.textContent = "Partition";
      part.classList.remove("on");
      log("note", "healed: reconnecting");
    } else {
      link.partition();
      part.textContent = "Heal";
      part.classList.add("on");
      log("note", "partitioned: changes wait here");
    }
    v.render();
  });
  const drop = el("button", { "data-test": "drop", title: "lose the next message, and the connection with it" }, "Drop next");
  drop.addEventListener("click", () => { link.dropNext(); log("note", "the next message will be lost"); });
  panel.insertBefore(el("div", { class: "controls" }, delay, drop, part), frames);
  panel.client = client;
}

document.getElementById("add").addEventListener("click", addReplica);
await addReplica();
await addReplica();
