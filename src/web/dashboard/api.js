// The public API, called with the secret key the visitor signed in with. The key lives in
// sessionStorage: this tab only, gone when it closes, never in a URL or a cookie.

const STORAGE = "moodring.secret_key";

export const key = () => sessionStorage.getItem(STORAGE);
export const remember = (k) => sessionStorage.setItem(STORAGE, k);
export const forget = () => sessionStorage.removeItem(STORAGE);

/** A refused call: the status and the API's error body (`{"error": …, "message"?: …}`). */
export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && (body.message || body.error);
    super(detail ? `${body.error}${body.message ? `: ${body.message}` : ""}` : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Called when the key stops working mid-visit (revoked): the app signs out. */
let onUnauthorized = () => {};
export function whenUnauthorized(f) {
  onUnauthorized = f;
}

function url(path, params = {}) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
  return u;
}

async function call(path, params, secret = key()) {
  const r = await fetch(url(path, params), { headers: { "x-api-key": secret || "" }, credentials: "omit" });
  if (r.ok) return r;
  const body = await r.json().catch(() => null);
  if (r.status === 401 && secret === key()) onUnauthorized();
  throw new ApiError(r.status, body);
}

/** GET `path` with query `params`; the parsed JSON. */
export async function get(path, params) {
  return (await call(path, params)).json();
}

/** Checks a key before keeping it: one cheap read with it. */
export async function check(secret) {
  await call("/v1/analytics/moods", {}, secret);
}

/** Downloads an export as a file: fetched with the key header, saved from memory. */
export async function download(path, params, filename) {
  const blob = await (await call(path, params)).blob();
  const href = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement("a"), { href, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
}
