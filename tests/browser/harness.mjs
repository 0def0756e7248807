// The pieces of a browser test: the moodring server (built from this tree), a second origin that
// serves shop pages embedding the tracker, Debian's chromium driven by playwright-core, and the
// secret-key API calls a customer's back office would make (never from a page).
import { spawn } from "node:child_process";
import http from "node:http";
import { chromium } from "playwright-core";

const BIN = process.env.MOODRING_BIN;
const DATABASE_URL = process.env.MOODRING_DATABASE_URL;

/** Waits for `check` to return a truthy value, up to `ms`. */
export async function until(check, ms = 15000, what = "a condition") {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the server on a free port; resolves with its base URL and a stop function. */
export async function startServer() {
  if (!BIN || !DATABASE_URL) throw new Error("MOODRING_BIN and MOODRING_DATABASE_URL must be set (tests/browser/run.sh)");
  const port = await freePort();
  const child = spawn(BIN, ["--database-url", DATABASE_URL, "--bind", `127.0.0.1:${port}`], {
    env: { ...process.env, RUST_LOG: "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  await until(() => fetch(`${base}/health`).then((r) => r.ok, () => false), 30000, "the server");
  return { base, stop: () => child.kill() };
}

function freePort() {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The shop: a page at `/page` embedding the tracker from `moodring` with the given options. */
export async function startShop(moodring) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://shop");
    const page = pageHtml(moodring, JSON.parse(url.searchParams.get("setup") || "{}"));
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(page);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, stop: () => server.close() };
}

/** `setup.tag`: the one-line script tag (data-key); otherwise `moodring.init(setup.init)`. */
function pageHtml(moodring, setup) {
  const tracker = setup.bare
    ? ""
    : setup.tag
    ? `<script src="${moodring}/v1/tracker.js" data-key="${setup.key}" async></script>
       <script>addEventListener("load", function () { moodring.on("mood", function (m) { __moods.push(m); }); });</script>`
    : `<script src="${moodring}/v1/tracker.js"></script>
       <script>moodring.init(${JSON.stringify({ endpoint: moodring, ...setup.init })});
               moodring.on("mood", function (m) { __moods.push(m); });</script>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head>
<body style="margin:0;height:5000px;font:16px sans-serif">
  <button id="buy" style="position:absolute;left:100px;top:100px;width:160px;height:48px">Pay now</button>
  <a id="help" href="#help" style="position:absolute;left:400px;top:110px">Help</a>
  <input id="name" autocomplete="off" style="position:absolute;left:100px;top:220px;width:200px">
  <p id="text" style="position:absolute;left:100px;top:320px">Some words to select with three clicks.</p>
  <script>window.__moods = [];</script>
  ${tracker}
</body></html>`;
}

/** Debian's chromium, as installed by apt (never a browser download). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });
}

/** The customer's back office: a tenant, its secret key, and calls made with it. */
export class BackOffice {
  constructor(base, key) {
    this.base = base;
    this.key = key;
  }

  static async signUp(base) {
    const r = await fetch(`${base}/v1/keys/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ customer_name: "Browser Shop", plan: "pro" }),
    });
    if (r.status !== 201) throw new Error(`sign-up: ${r.status}`);
    return new BackOffice(base, (await r.json()).api_key);
  }

  async call(method, path, body) {
    const r = await fetch(`${this.base}${path}`, {
      method,
      headers: { "x-api-key": this.key, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
  }

  async publishableKey(origins) {
    const r = await this.call("POST", "/v1/keys/publishable", { allowed_origins: origins });
    if (r.status !== 201) throw new Error(`publishable key: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json.publishable_key;
  }

  /** Every stored event of the session, in order, as the NDJSON export has them. */
  async events(session) {
    const r = await fetch(`${this.base}/v1/analytics/export?format=ndjson`, { headers: { "x-api-key": this.key } });
    const lines = (await r.text()).split("\n").filter(Boolean).map((l) => JSON.parse(l));
    return lines.filter((e) => e.session_id === session);
  }

  /** Waits until the session has `n` events stored (or more), and returns them. */
  async eventsOnce(session, n, ms) {
    return until(async () => {
      const events = await this.events(session);
      return events.length >= n ? events : null;
    }, ms, `${n} events of ${session}`);
  }

  async sessionCount() {
    return (await this.call("GET", "/v1/analytics/moods")).json.total_sessions;
  }
}

/** Types in stored order, and the same sorted (for comparing what happened regardless of order). */
export function types(events) {
  return events.map((e) => e.type);
}
export function sortedTypes(events) {
  return types(events).sort();
}
