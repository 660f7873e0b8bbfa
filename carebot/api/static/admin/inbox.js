// The inbox: conversations newest first, tabs by status with counts, unread badges, the wait.
import { request } from "./api.js";
import { h, replace, ago, duration, CHANNELS } from "./dom.js";

const TABS = [
  { status: "waiting", label: "Waiting" },
  { status: "human", label: "With a person" },
  { status: "bot", label: "Bot" },
  { status: null, label: "All" },
];

const state = { conversations: [], filter: "waiting", selected: null, me: null };
let refreshing = null;

export function setOperator(who) {
  state.me = who;
}

export function select(id) {
  state.selected = id;
  render();
}

// One request for every status, so each tab shows its count; filtering happens here.
export async function load() {
  const data = await request("/admin/conversations");
  state.conversations = data.conversations;
  render();
}

// Live events come in bursts (a message, then its conversation): reload once per burst.
export function refreshSoon() {
  if (refreshing) return;
  refreshing = setTimeout(() => {
    refreshing = null;
    load().catch(() => {}); // the next event or reconnect tries again
  }, 250);
}

export function statusWords(conversation) {
  if (conversation.status === "waiting") return "Waiting for you";
  if (conversation.status === "human") {
    const you = state.me && conversation.assignee === state.me.name;
    return you ? "You are answering" : `${conversation.assignee ?? "A colleague"} is answering`;
  }
  return "The bot is answering";
}

export function customerName(conversation) {
  const customer = conversation.customer;
  const name = typeof customer === "string" ? customer : customer?.name;
  return name || `${CHANNELS[conversation.channel] ?? conversation.channel} customer`;
}

export function render() {
  const root = document.getElementById("inbox");
  // The open conversation stays listed after taking it over, so it doesn't vanish from under the operator.
  const shown = state.conversations.filter(
    (c) => state.filter === null || c.status === state.filter || c.id === state.selected,
  );
  const tabs = h(
    "div",
    { class: "tabs", role: "tablist", "aria-label": "Show conversations" },
    TABS.map((tab) => {
      const matching = state.conversations.filter((c) => tab.status === null || c.status === tab.status);
      const unread = matching.reduce((sum, c) => sum + c.unread, 0);
      return h(
        "button",
        {
          class: `tab${tab.status === state.filter ? " active" : ""}`,
          role: "tab",
          "aria-selected": String(tab.status === state.filter),
          "data-status": tab.status ?? "all",
          onclick: () => {
            state.filter = tab.status;
            render();
          },
        },
        tab.label,
        h("span", { class: `count${tab.status === "waiting" && matching.length ? " urgent" : ""}` }, matching.length),
        unread ? h("span", { class: "sr-only" }, ` (${unread} unread)`) : null,
      );
    }),
  );
  const list = shown.length
    ? h("ul", { class: "conversation-list" }, shown.map(item))
    : h("p", { class: "empty" }, emptyWords());
  replace(root, tabs, list);
}

function emptyWords() {
  if (state.filter === "waiting") return "Nobody is waiting. The bot is handling everything for now.";
  if (state.filter === "human") return "Nobody on the team is answering a customer right now.";
  return "No conversations yet.";
}

function item(conversation) {
  const waiting = conversation.status === "waiting" && conversation.waiting_since;
  const reason = conversation.reason_label ? `Customer ${conversation.reason_label}` : null;
  return h(
    "li",
    {},
    h(
      "a",
      {
        href: `#/conversations/${encodeURIComponent(conversation.id)}`,
        class: `conversation-item status-${conversation.status}${conversation.id === state.selected ? " selected" : ""}`,
        "data-id": conversation.id,
      },
      h(
        "span",
        { class: "item-top" },
        h("strong", { class: "item-name" }, customerName(conversation)),
        conversation.unread
          ? h("span", { class: "badge", title: `${conversation.unread} new messages` }, conversation.unread)
          : null,
        h("span", { class: "item-time" }, ago(conversation.last_message_at)),
      ),
      h("span", { class: "item-text" }, conversation.last_message ?? ""),
      h(
        "span",
        { class: "item-meta" },
        h("span", { class: `pill pill-${conversation.status}` }, statusWords(conversation)),
        waiting ? h("span", { class: "wait" }, `Waiting ${duration(Date.now() - Date.parse(waiting))}`) : null,
        h("span", { class: "channel" }, CHANNELS[conversation.channel] ?? conversation.channel),
      ),
      reason && conversation.status !== "bot" ? h("span", { class: "item-reason" }, reason) : null,
    ),
  );
}
