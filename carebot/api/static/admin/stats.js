// How the bot and the team are doing: a few numbers, conversations per day, why customers were
// handed over, what they asked about, how fast they got a first answer, and what was done to
// orders and by whom. Charts are drawn here (SVG and CSS bars): no chart library, nothing from
// another site.
import { request } from "./api.js";
import { h, replace, seconds, ago } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const PERIODS = [7, 30, 90];
const INTENTS = {
  greeting: "Saying hello",
  order_status: "Where is my order",
  order_change: "Changing an order",
  shipping: "Shipping",
  returns_refunds: "Returns and refunds",
  payment: "Payment",
  account: "Their account",
  product: "Products",
  complaint: "Complaints",
  human_agent: "Asking for a person",
  out_of_scope: "Things the shop doesn't cover",
};
const ROLES = { customer: "From customers", bot: "From the bot", operator: "From the team", system: "Notes" };
const ACTIONS = {
  cancel: "Orders cancelled",
  change_address: "Addresses changed",
  change_items: "Items changed",
  return: "Returns requested",
  exchange: "Exchanges requested",
};
const ACTION_NAMES = {
  cancel: "cancelled",
  change_address: "address changed",
  change_items: "items changed",
  return: "return requested",
  exchange: "exchange requested",
};

let days = 7;

export async function show() {
  const root = document.getElementById("stats");
  const [stats, actions] = await Promise.all([request(`/admin/stats?days=${days}`), request(`/admin/actions?days=${days}`)]);
  replace(
    root,
    h(
      "div",
      { class: "stats-head" },
      h("h2", {}, `The last ${days} days`),
      h(
        "div",
        { class: "periods", role: "group", "aria-label": "Period" },
        PERIODS.map((n) =>
          h(
            "button",
            {
              type: "button",
              class: n === days ? "active" : "",
              "aria-pressed": String(n === days),
              onclick: () => {
                days = n;
                show();
              },
            },
            `${n} days`,
          ),
        ),
      ),
    ),
    h(
      "div",
      { class: "cards" },
      card("Conversations", stats.conversations),
      card(
        "Solved by the bot alone",
        stats.resolved_by_bot_share === null ? "—" : `${Math.round(stats.resolved_by_bot_share * 100)} %`,
      ),
      card("Handed to the team", stats.handovers),
      card("Actions on orders", actions.total),
      card("Messages", stats.messages),
    ),
    panel("Conversations per day", perDay(stats.per_day, root.clientWidth)),
    h(
      "div",
      { class: "panels" },
      panel("How fast customers got a first answer", firstResponse(stats.first_response)),
      panel(
        "Why conversations were handed to the team",
        bars(stats.handovers_by_reason, (code) => reasonWords(code, stats.reason_labels), "Nothing was handed over."),
      ),
      panel(
        "What customers asked about",
        bars(stats.intents, (code) => INTENTS[code] ?? code.replaceAll("_", " "), "No questions yet."),
      ),
      panel("Messages", bars(stats.messages_by_role, (role) => ROLES[role] ?? role, "No messages yet.")),
      panel(
        "Actions on orders",
        bars(actions.by_kind, (kind) => ACTIONS[kind] ?? kind, "Nothing was done to an order."),
      ),
      panel("Who did them", bars(actions.by_who, who, "Nobody acted on an order.")),
      panel("Latest actions", latest(actions.recent)),
    ),
  );
}

function who(by) {
  if (by === "bot") return "The bot";
  if (by === "automation") return "Automation (admin token)";
  return by;
}

function latest(recent) {
  if (!recent.length) return h("p", { class: "muted" }, "No actions yet.");
  return h(
    "ul",
    { class: "latest-actions" },
    recent.map((action) =>
      h(
        "li",
        {},
        action.conversation
          ? h("a", { href: `#/conversations/${encodeURIComponent(action.conversation)}` }, `Order ${action.order_number}`)
          : `Order ${action.order_number}`,
        ` ${ACTION_NAMES[action.kind] ?? action.kind} `,
        h("span", { class: "muted" }, `· ${who(action.by)} · ${ago(action.at)}`),
      ),
    ),
  );
}

function reasonWords(code, labels) {
  const label = labels?.[code];
  if (!label || code === "unknown") return "No reason recorded";
  return `The customer ${label}`;
}

function card(label, value) {
  return h("div", { class: "card" }, h("span", { class: "card-value" }, value), h("span", { class: "card-label" }, label));
}

function panel(title, body) {
  return h("section", { class: "panel" }, h("h3", {}, title), body);
}

function firstResponse(first) {
  const row = (who, times) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, who),
      h("td", {}, seconds(times.p50_seconds)),
      h("td", {}, seconds(times.p95_seconds)),
    );
  return h(
    "table",
    { class: "response-times" },
    h("thead", {}, h("tr", {}, h("td"), h("th", { scope: "col" }, "Usually"), h("th", { scope: "col" }, "At the slowest"))),
    h("tbody", {}, row("The bot", first.bot), row("The team, after a hand-over", first.human)),
    h("caption", {}, "“Usually”: half of the answers were faster. “At the slowest”: 95 in 100 were faster."),
  );
}

// Horizontal bars, longest first; widths set through the CSSOM (the page's CSP allows no inline styles).
function bars(counts, label, empty) {
  const entries = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1]);
  if (!entries.length) return h("p", { class: "muted" }, empty);
  const top = entries[0][1] || 1;
  return h(
    "ul",
    { class: "bars" },
    entries.map(([key, n]) => {
      const fill = h("span", { class: "bar-fill" });
      fill.style.width = `${Math.max(2, (n / top) * 100)}%`;
      return h(
        "li",
        {},
        h("span", { class: "bar-label" }, label(key)),
        h("span", { class: "bar-track" }, fill),
        h("span", { class: "bar-value" }, n),
      );
    }),
  );
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

// Conversations and hand-overs per day, side by side, on one scale. Drawn at the page's width
// (one unit, one pixel), so the labels stay readable on a phone.
function perDay(days, available) {
  const width = Math.max(300, Math.min(900, available - 72));
  const height = 220;
  const left = 28;
  const bottom = 22;
  const top = Math.max(1, ...days.map((d) => Math.max(d.conversations, d.handovers)));
  const step = (width - left) / days.length;
  const barWidth = Math.max(2, Math.min(18, step / 2 - 2));
  const y = (n) => height - bottom - (n / top) * (height - bottom - 10);
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    "aria-label": `Conversations per day: ${days.map((d) => `${d.day} ${d.conversations}`).join(", ")}`,
  });
  chart.append(
    svg("line", { x1: left, x2: width, y1: height - bottom, y2: height - bottom, class: "axis" }),
    svg("text", { x: left - 6, y: y(top) + 4, class: "tick", "text-anchor": "end" }, top),
    svg("text", { x: left - 6, y: height - bottom, class: "tick", "text-anchor": "end" }, 0),
  );
  const every = Math.ceil(days.length / Math.floor(width / 70)); // date labels that fit side by side
  days.forEach((d, i) => {
    const x = left + i * step + step / 2;
    const bar = (n, dx, cls) =>
      svg(
        "rect",
        { x: x + dx, y: y(n), width: barWidth, height: Math.max(0, height - bottom - y(n)), class: cls },
        svg("title", {}, `${d.day}: ${n}`),
      );
    chart.append(bar(d.conversations, -barWidth - 1, "bar-conversations"), bar(d.handovers, 1, "bar-handovers"));
    if (i % every === 0) {
      const label = new Date(`${d.day}T00:00`).toLocaleDateString([], { day: "numeric", month: "short" });
      chart.append(svg("text", { x, y: height - 6, class: "tick", "text-anchor": "middle" }, label));
    }
  });
  const legend = h(
    "p",
    { class: "legend" },
    h("span", { class: "key key-conversations" }),
    "Conversations ",
    h("span", { class: "key key-handovers" }),
    "Handed to the team",
  );
  return h("div", {}, chart, legend);
}
