// Small DOM and wording helpers shared by the views.
// Every string goes in as a text node: customers' words are untrusted, so nothing here uses innerHTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// "3 h 12 min", "12 min", "less than a minute"
export function duration(ms) {
  const minutes = Math.floor(Math.max(0, ms) / 60000);
  if (minutes < 1) return "less than a minute";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.floor(hours / 24)} days`;
}

export function ago(iso) {
  const ms = Date.now() - Date.parse(iso);
  return ms < 60000 ? "just now" : `${duration(ms)} ago`;
}

export function clock(iso) {
  const at = new Date(iso);
  const today = new Date().toDateString() === at.toDateString();
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return today ? time : `${at.toLocaleDateString([], { day: "numeric", month: "short" })}, ${time}`;
}

export const CHANNELS = { whatsapp: "WhatsApp", web: "Website chat", discord: "Discord" };

// Seconds as people say them: "4 s", "2 min", "1 h 5 min".
export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 1) return "under 1 s";
  if (value < 60) return `${Math.round(value)} s`;
  return duration(value * 1000);
}
