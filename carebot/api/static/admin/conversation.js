// One conversation: the transcript (with what was done to orders), who the customer is and their
// orders with the actions the shop's policy allows, why it was handed over, take over / hand back /
// resolve, and the composer (the bot's suggestion, or a WhatsApp template once the 24-hour window
// has closed).
import { request, conversationPath, ApiError } from "./api.js";
import { h, replace, clock, duration, CHANNELS } from "./dom.js";
import { customerName, statusWords } from "./inbox.js";
import { openActionDialog } from "./action_dialog.js";

const ROLE_NAMES = { customer: "Customer", bot: "Bot", operator: "You" };
const DELIVERY = { pending: "Sending…", sending: "Sending…", sent: "Sent", delivered: "Delivered", read: "Read" };

let me = null;
let current = null; // the conversation JSON shown
let parts = null; // the view's elements that live updates change
let composerMode = null;
let refreshing = null;
let offered = null; // the bot suggestion last put in the composer

export function setOperator(who) {
  me = who;
}

export const openId = () => current?.id ?? null;

export async function open(id) {
  current = null;
  const root = document.getElementById("conversation");
  replace(root, h("p", { class: "placeholder" }, "Opening the conversation…"));
  let detail;
  try {
    detail = await request(conversationPath(id));
  } catch (error) {
    replace(root, h("p", { class: "placeholder" }, notFoundWords(error)));
    return;
  }
  current = detail;
  composerMode = null;
  offered = null;
  build(root);
  show(detail);
  parts.transcript.lastElementChild?.scrollIntoView({ block: "end" });
}

export function close() {
  current = null;
  parts = null;
  replace(
    document.getElementById("conversation"),
    h("p", { class: "placeholder" }, "Pick a conversation on the left to read it and answer."),
  );
}

function notFoundWords(error) {
  return error instanceof ApiError && error.status === 404
    ? "This conversation doesn't exist any more."
    : "The conversation could not be loaded. Check your connection and try again.";
}

// A message from the live stream: new lines are added, a changed delivery status updates in place.
export function onMessage(message) {
  if (!current || message.conversation !== current.id) return;
  const added = upsert(message);
  if (added) parts.transcript.lastElementChild.scrollIntoView({ block: "end", behavior: "smooth" });
  // A customer's message marks it read and restarts WhatsApp's window; an action changes an order.
  if (message.role === "customer" || message.action) refreshSoon();
}

export function onConversation(change) {
  if (current && change.id === current.id) refreshSoon();
}

// Re-reads the conversation (status, customer, window) without touching what the operator is typing.
function refreshSoon() {
  if (refreshing) return;
  refreshing = setTimeout(async () => {
    refreshing = null;
    const id = current?.id;
    if (!id) return;
    try {
      const detail = await request(conversationPath(id));
      if (current?.id === id) show(detail);
    } catch {
      // the next event, or reconnecting, tries again
    }
  }, 250);
}

// Once a minute: the wait and the window's time left move on.
export function tick() {
  if (current) show(current);
}

function build(root) {
  parts = {
    name: h("h2", {}),
    sub: h("p", { class: "sub" }),
    actions: h("div", { class: "actions" }),
    reason: h("div", { class: "reason", hidden: true }),
    transcript: h("ol", { class: "transcript", "aria-label": "Messages", "aria-live": "polite" }),
    customer: h("details", { class: "customer-card" }),
    composer: h("form", { class: "composer", onsubmit: send }),
    error: h("p", { class: "composer-error", role: "alert", hidden: true }),
    text: null,
  };
  parts.customer.open = matchMedia("(min-width: 1100px)").matches;
  replace(
    root,
    h(
      "header",
      { class: "conversation-head" },
      h("a", { href: "#/", class: "back" }, "← Inbox"),
      h("div", { class: "who" }, parts.name, parts.sub),
      parts.actions,
    ),
    parts.reason,
    h(
      "div",
      { class: "conversation-body" },
      h("div", { class: "conversation-main" }, parts.transcript, parts.error, parts.composer),
      parts.customer,
    ),
  );
}

function show(detail) {
  current = detail;
  replace(parts.name, customerName(detail));
  const waiting = detail.status === "waiting" && detail.waiting_since;
  replace(
    parts.sub,
    h("span", { class: `pill pill-${detail.status}` }, statusWords(detail)),
    waiting ? ` · Waiting ${duration(Date.now() - Date.parse(detail.waiting_since))}` : null,
    ` · ${CHANNELS[detail.channel] ?? detail.channel}`,
  );
  showActions(detail);
  showReason(detail);
  for (const message of detail.messages) upsert(message);
  showCustomer(detail);
  showComposer(detail);
  offerSuggestion(detail);
}

// The bot's draft goes in the composer for the operator to edit, never sent by itself; a newer
// draft replaces nothing the operator has typed.
function offerSuggestion(detail) {
  const draft = detail.suggested_reply;
  if (!draft || !parts.text || draft === offered || parts.text.value.trim()) return;
  offered = draft;
  parts.text.value = draft;
  parts.hint.hidden = false;
}

function showActions(detail) {
  const mine = detail.status === "human" && me && detail.assignee === me.name;
  const buttons = [];
  if (!mine) {
    const label = detail.status === "human" ? `Take over from ${detail.assignee ?? "a colleague"}` : "Take over";
    buttons.push(action("takeover", label, "primary"));
  } else {
    buttons.push(action("handback", "Hand back to the bot", "secondary"));
  }
  if (detail.status !== "bot") buttons.push(action("resolve", "Resolve", "secondary"));
  replace(parts.actions, buttons);
}

function action(verb, label, kind) {
  return h(
    "button",
    {
      type: "button",
      class: kind,
      "data-action": verb,
      onclick: async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        try {
          show(await request(`${conversationPath(current.id)}/${verb}`, { method: "POST" }));
          hideError();
        } catch (error) {
          showError(error.message || "That didn't work. Try again.");
          button.disabled = false;
        }
      },
    },
    label,
  );
}

function showReason(detail) {
  const handed = detail.status !== "bot" && detail.reason_label;
  parts.reason.hidden = !handed;
  if (!handed) return;
  replace(
    parts.reason,
    h("strong", {}, `Handed over because the customer ${detail.reason_label}.`),
    detail.reason_detail ? h("span", { class: "reason-detail" }, ` ${detail.reason_detail}`) : null,
  );
}

// Adds the line, or updates its text and delivery status; returns whether it was new.
function upsert(message) {
  const existing = parts.transcript.querySelector(`[data-id="${CSS.escape(String(message.id))}"]`);
  const line = bubble(message);
  line.dataset.at = message.at;
  if (existing) {
    existing.replaceWith(line);
    return false;
  }
  // Lines come in order, except a live one racing a reload: keep the transcript sorted.
  const later = [...parts.transcript.children].find((li) => comesAfter(li, message));
  parts.transcript.insertBefore(line, later ?? null);
  return !later;
}

// Messages keep the order they were stored in (numeric ids); an action on an order ("action:12")
// goes where its time puts it among them.
function comesAfter(li, message) {
  const otherId = Number(li.dataset.id);
  if (typeof message.id === "number" && Number.isFinite(otherId)) return otherId > message.id;
  return Date.parse(li.dataset.at) > Date.parse(message.at);
}

function bubble(message) {
  if (message.role === "system") {
    return h(
      "li",
      { class: message.action ? "note note-action" : "note", "data-id": message.id },
      h("span", {}, message.text),
      h("time", { datetime: message.at }, clock(message.at)),
    );
  }
  const who = message.role === "operator" && message.author !== me?.name ? message.author : ROLE_NAMES[message.role];
  const failed = message.status === "failed" || message.status === "undelivered";
  const delivery = message.role === "customer" ? null : failed ? "Not delivered" : DELIVERY[message.status];
  return h(
    "li",
    { class: `msg msg-${message.role}${failed ? " failed" : ""}`, "data-id": message.id },
    h("p", { class: "msg-text" }, readable(message)),
    h(
      "span",
      { class: "msg-meta" },
      who ?? message.role,
      " · ",
      h("time", { datetime: message.at }, clock(message.at)),
      delivery ? ` · ${delivery}` : null,
    ),
  );
}

// An approved WhatsApp template comes with its name and fill-ins; operators read those.
function readable(message) {
  if (!message.template) return message.text;
  const fills = Object.values(message.template.variables);
  const name = message.template.name.replaceAll("_", " ");
  return `Approved message “${name}”${fills.length ? `: ${fills.join(", ")}` : ""}`;
}

function showCustomer(detail) {
  const customer = detail.customer;
  const orders = detail.orders ?? [];
  const summary = customer
    ? `${customer.name}${orders.length ? ` · ${orders.length} recent order${orders.length > 1 ? "s" : ""}` : ""}`
    : "Customer not identified yet";
  replace(
    parts.customer,
    h("summary", {}, summary),
    customer
      ? h(
          "dl",
          { class: "customer-facts" },
          fact("Name", customer.name),
          fact("Email", customer.email),
          fact("Phone", customer.phone),
        )
      : h("p", { class: "muted" }, "We don't know which customer this is: they haven't confirmed their account."),
    customer ? h("h3", {}, "Recent orders") : null,
    customer && !orders.length ? h("p", { class: "muted" }, "No orders yet.") : null,
    orders.length
      ? h(
          "ul",
          { class: "orders" },
          orders.map((order) =>
            h(
              "li",
              { "data-order": order.number },
              h(
                "span",
                { class: "order-top" },
                h("strong", {}, order.number),
                h("span", { class: "order-status" }, order.status.replaceAll("_", " ")),
              ),
              h("span", {}, order.summary),
              h("span", { class: "muted" }, `${order.total} · ordered ${order.ordered_at}`),
              orderActions(order),
            ),
          ),
        )
      : null,
  );
}

// What the shop's policy allows on the order now; each opens the dialog that checks and confirms it.
function orderActions(order) {
  if (!order.actions?.length) return null;
  return h(
    "div",
    { class: "order-actions", role: "group", "aria-label": `Actions on order ${order.number}` },
    order.actions.map((option) =>
      h(
        "button",
        {
          type: "button",
          class: "secondary small",
          "data-order-action": option.kind,
          onclick: () =>
            openActionDialog({
              conversationId: current.id,
              order,
              option,
              onDone: (done) => {
                if (done.line) {
                  upsert(done.line);
                  parts.transcript.lastElementChild?.scrollIntoView({ block: "end" });
                }
                refreshSoon(); // the order's status and what it still allows
              },
            }),
        },
        option.label,
      ),
    ),
  );
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value || "—")];
}

// Until when the channel takes free text (the server says; null: no such limit).
function windowLeft(detail) {
  return detail.window_closes_at ? Date.parse(detail.window_closes_at) - Date.now() : null;
}

function showComposer(detail) {
  const left = windowLeft(detail);
  const mode = left !== null && left <= 0 ? "template" : "text";
  if (mode !== composerMode) {
    composerMode = mode;
    if (mode === "text") textComposer();
    else templateComposer(detail);
  }
  if (parts.window) {
    parts.window.textContent = left > 0 ? `Reply window closes in ${duration(left)}` : "";
    parts.window.hidden = !(left > 0);
  }
}

function textComposer() {
  parts.text = h("textarea", {
    name: "text",
    rows: 3,
    placeholder: "Write to the customer…",
    "aria-label": "Your reply",
    onkeydown: (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) parts.composer.requestSubmit();
    },
    oninput: () => {
      if (parts.hint) parts.hint.hidden = true; // it's the operator's reply now
    },
  });
  parts.hint = h(
    "p",
    { class: "hint", hidden: true },
    "Suggested by the bot. Check it and change anything before you send it.",
  );
  parts.window = h("p", { class: "window", hidden: true });
  replace(
    parts.composer,
    parts.hint,
    parts.text,
    h("div", { class: "composer-foot" }, parts.window, h("button", { type: "submit", class: "primary" }, "Send")),
  );
}

function templateComposer(detail) {
  parts.text = null;
  parts.hint = null;
  parts.window = null;
  const templates = detail.templates ?? [];
  if (!templates.length) {
    replace(
      parts.composer,
      h(
        "p",
        { class: "hint" },
        "It has been more than 24 hours since the customer last wrote, so WhatsApp won't deliver a normal message. " +
          "No approved messages are set up, so you can answer only when the customer writes again.",
      ),
    );
    return;
  }
  const fills = h("div", { class: "fills" });
  const addFill = () => {
    const n = fills.children.length + 1;
    fills.append(h("label", {}, `Fill-in ${n}`, h("input", { name: `var${n}`, "data-var": String(n) })));
  };
  addFill();
  replace(
    parts.composer,
    h(
      "p",
      { class: "hint" },
      "It has been more than 24 hours since the customer last wrote, so WhatsApp only delivers one of your approved messages. Pick one:",
    ),
    h(
      "label",
      {},
      "Approved message",
      h("select", { name: "template" }, templates.map((name) => h("option", { value: name }, name.replaceAll("_", " ")))),
    ),
    fills,
    h(
      "div",
      { class: "composer-foot" },
      h("button", { type: "button", class: "secondary", onclick: addFill }, "Add a fill-in"),
      h("button", { type: "submit", class: "primary" }, "Send approved message"),
    ),
  );
}

async function send(event) {
  event.preventDefault();
  if (!current) return;
  const body = composerBody();
  if (!body) return;
  const button = parts.composer.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const message = await request(`${conversationPath(current.id)}/messages`, { method: "POST", body });
    upsert(message);
    parts.transcript.lastElementChild?.scrollIntoView({ block: "end" });
    if (parts.text) parts.text.value = "";
    for (const input of parts.composer.querySelectorAll("[data-var]")) input.value = "";
    if (parts.hint) parts.hint.hidden = true;
    hideError();
    refreshSoon(); // replying takes the conversation over
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      showError(
        "WhatsApp won't deliver this: the customer last wrote more than 24 hours ago. Send one of the approved messages instead.",
      );
      composerMode = null;
      templateComposer(current);
      composerMode = "template";
    } else if (error instanceof ApiError && error.status === 422) {
      showError("That approved message isn't set up any more. Pick another one.");
    } else {
      showError(error.message || "The message could not be sent. Try again.");
    }
  } finally {
    button.disabled = false;
  }
}

function composerBody() {
  if (parts.text) {
    const text = parts.text.value.trim();
    if (!text) {
      showError("Write a message first.");
      return null;
    }
    return { text };
  }
  const template = parts.composer.querySelector("select[name=template]")?.value;
  if (!template) return null;
  const variables = {};
  for (const input of parts.composer.querySelectorAll("[data-var]")) {
    if (input.value.trim()) variables[input.dataset.var] = input.value.trim();
  }
  return { template, variables };
}

function showError(text) {
  parts.error.textContent = text;
  parts.error.hidden = false;
}

function hideError() {
  if (parts) parts.error.hidden = true;
}
