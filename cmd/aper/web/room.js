import { open, kindOf, myName } from "./aper.js";
import { mountRoom } from "./views.js";

const room = decodeURIComponent(location.pathname.replace(/^\/room\//, ""));
const kind = kindOf(room);
document.title = room + " · aper";
document.getElementById("title").textContent = room;
document.getElementById("demo").href = "/demo/" + room;
const share = document.getElementById("share");
share.href = share.textContent = location.href;
const nameBox = document.getElementById("name");
nameBox.value = myName();

const box = document.getElementById("room");
try {
  const client = await open(room, { presence: { name: nameBox.value }, link: true });
  box.replaceChildren();
  const view = mountRoom(box, client, kind, { name: () => nameBox.value });
  nameBox.addEventListener("change", () => {
    localStorage.setItem("aper-name", nameBox.value);
    client.setPresence({ name: nameBox.value });
  });
  const offline = document.getElementById("offline");
  offline.addEventListener("click", () => {
    if (client.link.partitioned()) {
      client.link.heal();
      offline.textContent = "Go offline";
      offline.classList.remove("on");
    } else {
      client.link.partition();
      offline.textContent = "Go online";
      offline.classList.add("on");
    }
    view.render();
  });
  globalThis.aperClient = client; // for the console, and for tests
  globalThis.aperFirstState = performance.now(); // when the page first showed the room's state
} catch (err) {
  box.replaceChildren(Object.assign(document.createElement("p"), { className: "error", textContent: "cannot open the room: " + err.message }));
}
