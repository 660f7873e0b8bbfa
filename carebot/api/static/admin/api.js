// The operator API: same-origin JSON with the session cookie; every change carries the CSRF token.

let csrf = null;
let shop = null; // the shop this page shows: sent with every request, so a stale page finds out

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.status = status;
    this.body = body; // the answer as sent, e.g. an action's refusal
  }
}

function signedOut() {
  location.assign("/admin/login");
  return new Promise(() => {}); // the page is leaving: nothing after this should run
}

// The session works in another shop now (picked in another tab): start over in it.
function shopChanged() {
  location.hash = "#/";
  location.reload();
  return new Promise(() => {});
}

export async function request(path, { method = "GET", body, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf ?? "";
  if (shop) headers["X-Carebot-Tenant"] = shop;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 401) return signedOut();
  if (response.status === 409 && response.headers.has("X-Carebot-Tenant")) return shopChanged();
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, plainDetail(data.detail), data);
  return data;
}

// FastAPI's validation errors are a list of objects; a refusal carries its sentence in `message`;
// anything else is already a sentence.
function plainDetail(detail) {
  if (typeof detail === "string") return detail;
  if (typeof detail?.message === "string") return detail.message;
  return "That couldn't be done as it is. Check what you entered and try again.";
}

// A fresh key per confirmation dialog (`Idempotency-Key`): sent again, the action is not done again.
// getRandomValues works on plain-http deployments too, where randomUUID is not available.
export function newKey() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function me() {
  const who = await request("/admin/me");
  csrf = who.csrf_token;
  shop = who.tenant?.slug ?? null;
  return who;
}

// The shops this operator works in, and switching the session to another (403: not one of theirs).
export const myShops = () => request("/admin/me/tenants");
export const switchShop = (slug) => request("/admin/me/tenant", { method: "POST", body: { tenant: slug } });

export const conversationPath = (id) => `/admin/conversations/${encodeURIComponent(id)}`;

export async function signOut() {
  await request("/admin/logout", { method: "POST" });
  location.assign("/admin/login");
}
