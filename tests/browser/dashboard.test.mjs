// The dashboard in Debian's chromium against a seeded server: what it shows must equal what the
// API answers to the very requests the page made; it must stay on the server's origin and log
// no error. Screenshots of every page (desktop and phone widths) go to $ARTIFACTS.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { BackOffice, launchBrowser, startServer, until } from "./harness.mjs";

const ARTIFACTS = process.env.ARTIFACTS || new URL("./artifacts/", import.meta.url).pathname;
const TZ = "Europe/Paris";
let server, browser, office;
const now = Math.floor(Date.now() / 1000);

/** Personas, each a session's events ending `ago` seconds before now. */
const PERSONAS = {
  frustrated: (t) => [
    { type: "page_view", ts: t - 30 },
    { type: "rage_click", x: 240, y: 580, ts: t - 12 },
    { type: "error", message: "Payment failed", ts: t - 10 },
    { type: "idle", duration_ms: 4500, ts: t - 5 },
    { type: "rage_click", x: 240, y: 580, ts: t - 4 },
    { type: "error", message: "Payment failed", ts: t - 2 },
    { type: "back_nav", ts: t },
  ],
  browsing: (t) => [
    { type: "page_view", ts: t - 60 }, { type: "scroll", ts: t - 50 }, { type: "hover", ts: t - 45 },
    { type: "scroll", ts: t - 40 }, { type: "click", x: 10, y: 10, ts: t - 30 }, { type: "page_view", ts: t - 20 },
    { type: "scroll", ts: t - 10 }, { type: "scroll", ts: t },
  ],
  neutral: (t) => [{ type: "click", x: 5, y: 5, ts: t }],
};

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  office = await BackOffice.signUp(server.base);
  const seeds = [
    ["checkout-1", "frustrated", 120, "u_ana"],
    ["checkout-2", "frustrated", 3600, "u_ben"],
    ["reader-1", "browsing", 600, "u_ana"],
    ["reader-2", "browsing", 86400 * 3, null],
    ["quick-1", "neutral", 300, null],
    ["quick-2", "neutral", 86400 * 10, null],
  ];
  for (const [id, persona, ago, user] of seeds) {
    const r = await office.call("POST", `/v1/sessions/${id}/events`, { events: PERSONAS[persona](now - ago), ...(user ? { user_id: user } : {}) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  for (const body of [
    { action_taken: "show_live_chat", was_helpful: false, notes: "<img src=x onerror=alert(1)> closed it" },
    { action_taken: "show_tooltip", was_helpful: true },
  ]) {
    assert.equal((await office.call("POST", "/v1/sessions/checkout-1/feedback", body)).status, 200);
  }
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/**
 * A fresh tab on the dashboard; records console errors, page errors and every request that is
 * not to the server's origin.
 */
async function open(width = 1280, height = 900) {
  const context = await browser.newContext({ viewport: { width, height }, timezoneId: TZ, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    requests.push(r.url());
    if (!r.url().startsWith(`${server.base}/`) && !r.url().startsWith("blob:")) problems.push(`left the origin: ${r.url()}`);
  });
  await page.goto(`${server.base}/dashboard`);
  return { context, page, problems, requests };
}

async function signIn(page, key = office.key) {
  await page.getByLabel("Secret key").fill(key);
  await page.keyboard.press("Enter");
}

/** The API's answer to the last request the page made to `path` (the same query, our key). */
async function replay(requests, path) {
  const url = [...requests].reverse().find((u) => new URL(u).pathname === path);
  assert.ok(url, `the page requested ${path}`);
  const u = new URL(url);
  return (await office.call("GET", `${u.pathname}${u.search}`)).json;
}

const shot = (page, name) => page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });

test("a wrong, revoked or publishable key shows why, and nothing else loads", async () => {
  const { context, page, requests } = await open();
  await signIn(page, `sm_${"0".repeat(64)}`);
  await until(() => page.locator("#sign-in-error").isVisible(), 10000, "the error");
  assert.equal(await page.locator("#sign-in-error").textContent(), "This key was not accepted: it is wrong or has been revoked.");
  await shot(page, "sign-in-wrong-key");
  await signIn(page, "pk_live_abc");
  assert.match(await page.locator("#sign-in-error").textContent(), /^That is not a secret key/);
  const spare = (await office.call("POST", "/v1/keys")).json;
  const revoked = spare.api_key;
  assert.ok(revoked, JSON.stringify(spare));
  const gone = await fetch(`${server.base}/v1/keys/current`, { method: "DELETE", headers: { "x-api-key": revoked } });
  assert.equal(gone.status, 200);
  await signIn(page, revoked);
  await until(async () => (await page.locator("#sign-in-error").textContent()).startsWith("This key was not accepted"), 10000, "the revoked key refused");
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, "nothing kept");
  assert.ok(await page.locator("#nav").isHidden());
  assert.ok(requests.every((u) => !u.includes("sm_")), "a key never goes in a URL");
  await context.close();
});

test("overview: the numbers and charts are the API's, in the picked zone", async () => {
  const { context, page, problems, requests } = await open();
  await signIn(page);
  await page.locator("#distribution li").first().waitFor();
  await page.locator("#mood-chart canvas").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("moodring.secret_key")), office.key);
  assert.ok(!page.url().includes(office.key) && !(await context.cookies()).length, "the key is in sessionStorage only");

  const distribution = await replay(requests, "/v1/analytics/moods");
  assert.equal(await page.locator("#total-sessions").textContent(), String(distribution.total_sessions));
  assert.equal(distribution.total_sessions, 6);
  for (const m of distribution.mood_distribution) {
    assert.equal(await page.locator(`#distribution li[data-mood="${m.mood}"]`).getAttribute("data-count"), String(m.count), m.mood);
  }
  const series = await replay(requests, "/v1/analytics/moods/timeseries");
  assert.equal(series.tz, TZ);
  assert.equal(series.interval, "day");
  assert.equal(series.buckets.length, 30);
  const chart = page.locator("#mood-chart");
  assert.deepEqual([await chart.getAttribute("data-series"), await chart.getAttribute("data-points")], ["7", "30"]);
  assert.equal(await page.locator("#mood-chart .u-legend .u-series").count(), 8, "time and seven moods");
  const rows = await page.locator("#series-table tbody tr").allTextContents();
  assert.equal(rows.length, series.buckets.length);
  const events = series.buckets.reduce((n, b) => n + b.events, 0);
  assert.equal(events, 7 * 2 + 8 * 2 + 1 * 2, "every seeded event, none twice");
  const aggregate = await replay(requests, "/v1/analytics/moods/aggregate");
  for (const d of ["valence", "arousal", "tension", "affiliation"]) {
    assert.equal(await page.locator(`#mean-${d}`).textContent(), aggregate[d].toFixed(2), d);
  }
  await shot(page, "overview-1280");

  // A thousand buckets: hourly over 41 days.
  await page.getByLabel("Interval").selectOption("hour");
  const to = await page.locator("#to").inputValue();
  const from = new Date(Date.parse(to) - 40 * 86400e3).toISOString().slice(0, 10);
  await page.getByLabel("From").fill(from);
  await page.getByRole("button", { name: "Apply" }).click();
  await until(async () => (await page.locator("#mood-chart").getAttribute("data-points")) > "900", 15000, "the hourly chart");
  const hourly = await replay(requests, "/v1/analytics/moods/timeseries");
  assert.equal(hourly.interval, "hour");
  assert.equal(await page.locator("#mood-chart").getAttribute("data-points"), String(hourly.buckets.length));
  assert.ok(hourly.buckets.length >= 984 && hourly.buckets.length <= 1000, String(hourly.buckets.length));
  await page.locator("#mood-chart .u-over").hover({ position: { x: 200, y: 100 } });
  await shot(page, "overview-hourly-1280");

  // The download is the API's export for the same range.
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#export-csv").click()]);
  const csv = readFileSync(await download.path(), "utf8");
  const exported = new URL([...requests].reverse().find((u) => u.includes("/v1/analytics/export")));
  const direct = await fetch(`${server.base}${exported.pathname}${exported.search}`, { headers: { "x-api-key": office.key } });
  assert.equal(csv, await direct.text());
  assert.equal(csv.trim().split("\n").length, 1 + events);
  assert.deepEqual(problems, []);
  await context.close();
});

test("sessions: filtered by mood, and a session page shows its events, card and feedback", async () => {
  const { context, page, problems, requests } = await open();
  await signIn(page);
  await page.getByRole("link", { name: "Sessions" }).click();
  await page.locator("#sessions-table tbody tr").first().waitFor();
  const listed = await replay(requests, "/v1/sessions");
  assert.deepEqual(
    await page.locator("#sessions-table tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.session)),
    listed.sessions.map((s) => s.session_id),
  );
  assert.deepEqual(listed.sessions.map((s) => s.session_id), ["checkout-1", "quick-1", "reader-1", "checkout-2", "reader-2", "quick-2"]);
  await page.getByLabel("Mood").selectOption("frustrated");
  await page.getByRole("button", { name: "Apply" }).click();
  await until(async () => (await page.locator("#sessions-table tbody tr").count()) === 2, 10000, "the filtered list");
  await shot(page, "sessions-1280");

  await page.getByRole("link", { name: "checkout-1" }).click();
  await page.locator("#events-table tbody tr").first().waitFor();
  const history = await replay(requests, "/v1/sessions/checkout-1/mood-history");
  assert.equal(await page.locator("#events-table tbody tr").count(), history.entries.length);
  assert.equal(history.entries.length, 7);
  const state = (await replay(requests, "/v1/sessions/checkout-1/state")).mood;
  assert.equal(await page.locator("#mood-card .chip").first().getAttribute("data-mood"), state.label);
  assert.equal(await page.locator("#suggested-action").textContent(), state.suggested_action.replaceAll("_", " "));
  const chart = page.locator("#history-chart");
  assert.deepEqual([await chart.getAttribute("data-series"), await chart.getAttribute("data-points")], ["4", "7"]);
  const box = await page.locator("#history-chart .u-over").boundingBox();
  await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
  await until(async () => (await page.locator("#event-detail").textContent()).includes(history.entries[0].trigger_reason), 5000, "the hovered event's reason");
  const feedback = await page.locator("#feedback-table tbody tr").allTextContents();
  assert.equal(feedback.length, 2);
  assert.ok(feedback.some((r) => r.includes("<img src=x onerror=alert(1)> closed it")), "notes shown as text");
  assert.equal(await page.locator("#feedback-table img").count(), 0, "never as markup");
  await shot(page, "session-1280");
  assert.deepEqual(problems, []);
  await context.close();
});

test("people and interventions read the API; an unknown person says so", async () => {
  const { context, page, problems, requests } = await open();
  await signIn(page);
  await page.getByRole("link", { name: "People" }).click();
  await page.getByLabel("User id").fill("u_ana");
  await page.getByLabel("User id").press("Enter");
  await page.locator("#summary").waitFor();
  const mood = await replay(requests, "/v1/users/u_ana/mood");
  // The mood decays in real time between the page's read and ours: the confidence in the
  // summary may have moved by a hundredth, and nothing else.
  const shown = await page.locator("#summary").textContent();
  const confidence = (text) => Number(/\(confidence (\d\.\d\d)\)/.exec(text)[1]);
  assert.equal(shown.replace(/\d\.\d\d/, "…"), mood.summary.replace(/\d\.\d\d/, "…"));
  assert.ok(Math.abs(confidence(shown) - confidence(mood.summary)) <= 0.011, `${shown} / ${mood.summary}`);
  assert.equal(await page.locator("#person-sessions tbody tr").count(), 2);
  assert.equal(await page.locator("#events-table tbody tr").count(), 7 + 8);
  await shot(page, "person-1280");
  await page.getByRole("link", { name: "Interventions" }).click();
  await page.locator("#intervention-settings").waitFor();
  const learned = await replay(requests, "/v1/analytics/interventions");
  assert.equal(await page.locator("section.context").count(), learned.contexts.length);
  assert.ok(learned.contexts.length >= 2);
  await shot(page, "interventions-1280");
  assert.deepEqual(problems, []);

  await page.getByRole("link", { name: "People" }).click();
  await page.getByLabel("User id").fill("nobody");
  await page.getByLabel("User id").press("Enter");
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").textContent(), /^No person with this user id/);
  // The browser logs the API's 404 itself; nothing else.
  assert.deepEqual(problems, ["console: Failed to load resource: the server responded with a status of 404 (Not Found)"]);
  await context.close();
});

test("at a phone's width every page fits and works", async () => {
  const { context, page, problems } = await open(390, 844);
  await shot(page, "sign-in-390");
  await signIn(page);
  await page.locator("#mood-chart canvas").waitFor();
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  assert.ok(await fits(), "overview does not scroll sideways");
  await shot(page, "overview-390");
  for (const [hash, ready, name] of [
    ["#/sessions", "#sessions-table tbody tr", "sessions-390"],
    ["#/sessions/checkout-1", "#history-chart canvas", "session-390"],
    ["#/people/u_ana", "#summary", "person-390"],
    ["#/interventions", "#intervention-settings", "interventions-390"],
  ]) {
    await page.evaluate((h) => (location.hash = h), hash);
    await page.locator(ready).first().waitFor();
    assert.ok(await fits(), `${name} does not scroll sideways`);
    await shot(page, name);
  }
  assert.deepEqual(problems, []);
  await context.close();
});
