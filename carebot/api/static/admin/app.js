// The operator app: who is signed in, hash routes (#/, #/conversations/<id>, #/stats) and live
// updates from the server's event stream, which the browser reconnects by itself.
import { me, myShops, signOut, switchShop } from "./api.js";
import { h, replace } from "./dom.js";
import * as inbox from "./inbox.js";
import * as conversation from "./conversation.js";
import * as stats from "./stats.js";

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const opened = hash.match(/^\/conversations\/(.+)$/);
  document.querySelectorAll("[data-nav]").forEach((link) => {
    link.classList.toggle("active", link.dataset.nav === (hash === "/stats" ? "stats" : "inbox"));
  });
  if (hash === "/stats") {
    document.body.dataset.view = "stats";
    stats.show().catch(() => failed("The numbers could not be loaded. Try again in a moment."));
    return;
  }
  if (opened) {
    const id = decodeURIComponent(opened[1]);
    document.body.dataset.view = "conversation";
    inbox.select(id);
    if (conversation.openId() !== id) conversation.open(id);
    return;
  }
  document.body.dataset.view = "inbox";
  inbox.select(null);
  conversation.close();
}

function failed(text) {
  const notice = document.getElementById("notice");
  notice.textContent = text;
  notice.hidden = false;
}

function live() {
  const status = document.getElementById("live");
  const events = new EventSource("/admin/events");
  // (Re)connected: anything missed while away is reloaded, so the inbox is never stale.
  events.addEventListener("open", () => {
    status.textContent = "Live";
    status.className = "live on";
    inbox.load().catch(() => {});
  });
  events.addEventListener("error", () => {
    status.textContent = "Reconnecting…";
    status.className = "live off";
    // A closed stream does not retry: usually the session ended.
    if (events.readyState === EventSource.CLOSED) me().then(() => setTimeout(live, 5000), () => {});
  });
  events.addEventListener("conversation", (event) => {
    inbox.refreshSoon();
    conversation.onConversation(JSON.parse(event.data));
  });
  events.addEventListener("message", (event) => {
    inbox.refreshSoon();
    conversation.onMessage(JSON.parse(event.data));
  });
}

// The shop's name always shows; an operator of several shops picks another here, and the page
// starts over in it (the inbox, the open conversation's id and the event stream are per shop).
async function showShop(who) {
  const place = document.getElementById("shop");
  const current = who.tenant;
  document.title = current ? `${current.name} — Customer inbox` : "Customer inbox";
  replace(place, current ? current.name : "");
  const { tenants } = await myShops();
  if (!current || tenants.length < 2) return;
  const picker = h(
    "select",
    { "aria-label": "Shop", id: "shop-picker" },
    tenants.map((shop) => h("option", { value: shop.slug, selected: shop.slug === current.slug }, shop.name)),
  );
  picker.addEventListener("change", async () => {
    picker.disabled = true;
    try {
      await switchShop(picker.value);
      location.hash = "#/";
      location.reload();
    } catch {
      picker.value = current.slug;
      picker.disabled = false;
      failed("That shop could not be opened. Reload the page to see the shops you work in.");
    }
  });
  replace(place, picker);
}

async function start() {
  const who = await me();
  inbox.setOperator(who);
  conversation.setOperator(who);
  document.getElementById("me").textContent = who.name;
  showShop(who).catch(() => {});
  document.getElementById("signout").addEventListener("click", () => signOut());
  window.addEventListener("hashchange", route);
  route();
  live();
  // Waits and WhatsApp's reply window count down between events.
  setInterval(() => {
    inbox.render();
    conversation.tick();
  }, 30000);
}

start().catch(() => failed("The inbox could not be loaded. Check your connection and reload the page."));
