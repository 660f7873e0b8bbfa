// The operator API: same-origin JSON with the session cookie; every change carries the CSRF token.

let csrf = null;

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function signedOut() {
  location.assign("/admin/login");
  return new Promise(() => {}); // the page is leaving: nothing after this should run
}

export async function request(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf ?? "";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 401) return signedOut();
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, plainDetail(data.detail));
  return data;
}

// FastAPI's validation errors are a list of objects; anything else is already a sentence.
function plainDetail(detail) {
  if (typeof detail === "string") return detail;
  return "The message could not be sent as it is. Check it and try again.";
}

export async function me() {
  const who = await request("/admin/me");
  csrf = who.csrf_token;
  return who;
}

export const conversationPath = (id) => `/admin/conversations/${encodeURIComponent(id)}`;

export async function signOut() {
  await request("/admin/logout", { method: "POST" });
  location.assign("/admin/login");
}
