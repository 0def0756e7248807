// The dashboard's shell: sign-in, navigation and the router. Views live in their own modules
// and read the public API only (api.js). Routes are in the URL's fragment (`#/sessions/abc`),
// with filters as its query, so views can be bookmarked; the key never is.

import * as api from "./api.js";
import { alertBox, fill, h } from "./dom.js";
import { destroyCharts } from "./charts.js";
import { overview } from "./overview.js";
import { sessions } from "./sessions.js";
import { session } from "./session.js";
import { people } from "./people.js";
import { interventions } from "./interventions.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const signOut = document.getElementById("sign-out");

const ROUTES = [
  [/^\/overview$/, overview],
  [/^\/sessions$/, sessions],
  [/^\/sessions\/(.+)$/, session],
  [/^\/people(?:\/(.+))?$/, people],
  [/^\/interventions$/, interventions],
];

/** `#/path?query` → the path and the query's parameters. */
function fragment() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(1) : "/overview";
  const at = raw.indexOf("?");
  return at < 0 ? { path: raw, params: new URLSearchParams() } : { path: raw.slice(0, at), params: new URLSearchParams(raw.slice(at + 1)) };
}

/** Goes to `path` with `params` (empty values left out). */
export function go(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  const hash = `#${path}${query.size ? `?${query}` : ""}`;
  if (location.hash === hash) render();
  else location.hash = hash;
}

let rendering = 0;
let lastPath = null;

async function render(notice) {
  destroyCharts();
  const signedIn = Boolean(api.key());
  nav.hidden = signOut.hidden = !signedIn;
  if (!signedIn) return signIn(notice);
  const { path, params } = fragment();
  const route = ROUTES.find(([re]) => re.test(path));
  if (!route) return go("/overview");
  for (const a of nav.querySelectorAll("a")) {
    const current = path === a.hash.slice(1) || path.startsWith(`${a.hash.slice(1)}/`);
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const view = h("div", { class: "view" });
  fill(main, view);
  if (path !== lastPath) main.focus({ preventScroll: true });
  lastPath = path;
  const token = ++rendering;
  const match = path.match(route[0]);
  const arg = match[1] === undefined ? null : decodeURIComponent(match[1]);
  try {
    await route[1](view, { params, arg, go, stale: () => token !== rendering });
  } catch (e) {
    if (token === rendering && api.key()) view.append(alertBox(e.message || String(e)));
  }
}

function signIn(notice) {
  lastPath = null;
  const input = h("input", { type: "password", name: "key", id: "key", autocomplete: "off", spellcheck: "false", required: true, placeholder: "sm_…" });
  const error = h("p", { class: "alert", role: "alert", id: "sign-in-error", hidden: !notice }, notice || "");
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    h("p", {}, "Paste a secret key (sm_…). It stays in this browser tab only and is forgotten when the tab closes."),
    h("label", { class: "field", for: "key" }, h("span", {}, "Secret key")),
    input, button, error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const secret = input.value.trim();
    const fail = (text) => {
      error.textContent = text;
      error.hidden = false;
      input.focus();
    };
    if (!/^sm_[A-Za-z0-9_-]+$/.test(secret)) {
      return fail("That is not a secret key: secret keys start with sm_ (a publishable pk_ key cannot read analytics).");
    }
    button.disabled = true;
    try {
      await api.check(secret);
      api.remember(secret);
      if (!location.hash.startsWith("#/")) location.hash = "#/overview";
      render();
    } catch (err) {
      if (err.status === 401) fail("This key was not accepted: it is wrong or has been revoked.");
      else if (err.status === 429) fail(err.body?.message || "Too many failed sign-ins from this address; try again later.");
      else fail(`Could not check the key: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  });
  fill(main, form);
  input.focus();
}

api.whenUnauthorized(() => {
  api.forget();
  render("Your key stopped working (it may have been revoked). Sign in again.");
});
signOut.addEventListener("click", () => {
  api.forget();
  render();
});
window.addEventListener("hashchange", () => render());
render();
