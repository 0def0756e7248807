// The tracker in Debian's chromium against the live server: a shop page on a second origin
// embeds it with a publishable key; scripted behaviour must be stored as exactly the expected
// events, and the credentials in the page must reach nothing else.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BackOffice, launchBrowser, sortedTypes, startServer, startShop, types, until } from "./harness.mjs";

let server, shop, evil, browser, office, pk;

before(async () => {
  server = await startServer();
  shop = await startShop(server.base);
  evil = await startShop(server.base);
  browser = await launchBrowser();
  office = await BackOffice.signUp(server.base);
  pk = await office.publishableKey([shop.origin]);
});

after(async () => {
  await browser?.close();
  shop?.stop();
  evil?.stop();
  server?.stop();
});

/** A fresh visitor on a shop page; resolves once the tracker has its session. */
async function visit(setup, origin = shop.origin, path = "/page") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${origin}${path}${path.includes("?") ? "&" : "?"}setup=${encodeURIComponent(JSON.stringify(setup))}`);
  return { context, page, errors };
}

async function sessionOf(page) {
  return page.waitForFunction(() => window.moodring && window.moodring.session()).then((h) => h.jsonValue());
}

/** Long thresholds but for what a test shortens: no idle or pause by accident on a slow machine. */
const calm = { idleMs: 60000, inputPauseMs: 60000, hoverMs: 60000, flushMs: 200 };

test("one script tag: rage clicks and errors end frustrated, and the page hears it", async () => {
  const { context, page } = await visit({ tag: true, key: pk });
  const session = await sessionOf(page);
  assert.match(session, /^bs_[0-9a-f]{32}$/);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 3; i++) await page.mouse.click(180, 124);
    await page.evaluate(() => setTimeout(() => { throw new Error("Payment failed: card declined"); }));
    await page.waitForTimeout(300);
  }
  await page.evaluate(() => moodring.flush());
  const events = await office.eventsOnce(session, 11);
  assert.deepEqual(sortedTypes(events), [
    "click", "click", "click", "click", "click", "click", "error", "error", "page_view", "rage_click", "rage_click",
  ]);
  const clicks = events.filter((e) => e.type === "click" || e.type === "rage_click");
  assert.ok(clicks.every((e) => e.x === 180 && e.y === 124), JSON.stringify(clicks));
  assert.ok(events.filter((e) => e.type === "error").every((e) => e.message === "Uncaught Error: Payment failed: card declined"));
  assert.ok(events.every((e) => /^[0-9a-f]{24}$/.test(e.event_id)), "every event has an id");
  const mood = (await office.call("GET", `/v1/sessions/${session}/mood`)).json;
  assert.equal(mood.mood, "frustrated");
  // The callback fires when the label changes, with the mood as the API gave it then.
  const heard = await until(async () => {
    const moods = await page.evaluate(() => window.__moods);
    return moods.at(-1)?.label === "frustrated" ? moods : null;
  }, 10000, "the mood callback");
  assert.ok(heard.every((m, i) => i === 0 || m.label !== heard[i - 1].label), JSON.stringify(heard));
  const last = heard.at(-1);
  assert.equal(last.session_id, session);
  assert.ok(last.confidence > 0 && last.confidence <= 1, JSON.stringify(last));
  assert.ok(["show_live_chat", "show_tooltip", "no_action"].includes(last.suggested_action), JSON.stringify(last));
  await context.close();
});

test("scrolling down then up is scrolls and a backtrack", async () => {
  const { context, page } = await visit({ init: { key: pk, ...calm } });
  const session = await sessionOf(page);
  await page.evaluate(() => window.scrollTo(0, 1500));
  await page.waitForTimeout(400);
  await page.evaluate(() => window.scrollTo(0, 300));
  await page.waitForTimeout(400);
  await page.evaluate(() => moodring.flush());
  const events = await office.eventsOnce(session, 4);
  assert.deepEqual(types(events), ["page_view", "scroll", "scroll", "backtrack"]);
  assert.deepEqual(events.slice(1, 3).map((e) => e.direction), ["down", "up"]);
  assert.ok(events.slice(1, 3).every((e) => e.speed > 0), JSON.stringify(events));
  await context.close();
});

test("typing, a pause mid-field and leaving it: focus, input_pause, blur, and no typed value", async () => {
  const { context, page } = await visit({ init: { key: pk, ...calm, inputPauseMs: 800 } });
  const session = await sessionOf(page);
  await page.focus("#name");
  await page.keyboard.type("4242 4242");
  await page.waitForTimeout(1100);
  await page.keyboard.type(" 99");
  await page.evaluate(() => document.getElementById("name").blur());
  await page.evaluate(() => moodring.flush());
  const events = await office.eventsOnce(session, 4);
  assert.deepEqual(types(events), ["page_view", "focus", "input_pause", "blur"]);
  const pause = events[2].duration_ms;
  assert.ok(pause >= 1000 && pause < 5000, `${pause}`);
  // The typed text with its space: four digits alone also turn up by chance in ids and times.
  assert.ok(!JSON.stringify(events).includes("4242 4242"), "typed values never leave the page");
  await context.close();
});

test("a long hover over a link without a click is a hover", async () => {
  const { context, page } = await visit({ init: { key: pk, ...calm, hoverMs: 600 } });
  const session = await sessionOf(page);
  await page.hover("#help");
  await page.waitForTimeout(900);
  await page.mouse.move(900, 700);
  await page.evaluate(() => moodring.flush());
  const events = await office.eventsOnce(session, 2);
  assert.deepEqual(types(events), ["page_view", "hover"]);
  assert.ok(events[1].duration_ms >= 800, JSON.stringify(events[1]));
  await context.close();
});

test("route changes and history back: page views without query strings, and a back_nav", async () => {
  const { context, page } = await visit({ init: { key: pk, ...calm } }, shop.origin, "/page?coupon=SECRET10");
  const session = await sessionOf(page);
  await page.evaluate(() => history.pushState({}, "", "/checkout?card=4242#pay"));
  await page.waitForTimeout(100);
  await page.goBack();
  await page.waitForTimeout(200);
  await page.evaluate(() => moodring.flush());
  const events = await office.eventsOnce(session, 4);
  assert.deepEqual(types(events), ["page_view", "page_view", "back_nav", "page_view"]);
  assert.deepEqual(events.filter((e) => e.url).map((e) => e.url), [
    `${shop.origin}/page`, `${shop.origin}/checkout`, `${shop.origin}/page`,
  ]);
  await context.close();
});

test("idle: no input for longer than the threshold, reported when activity resumes", async () => {
  const { context, page } = await visit({ init: { key: pk, ...calm, idleMs: 1000 } });
  const session = await sessionOf(page);
  await page.mouse.move(10, 10);
  await page.waitForTimeout(1600);
  await page.mouse.move(20, 20);
  await page.evaluate(() => moodring.flush());
  const events = await office.eventsOnce(session, 2);
  assert.deepEqual(types(events), ["page_view", "idle"]);
  assert.ok(events[1].duration_ms >= 1500, JSON.stringify(events[1]));
  await context.close();
});

test("a triple-click that selects text is not a rage click; an unhandled rejection is an error", async () => {
  const { context, page } = await visit({ init: { key: pk, ...calm } });
  const session = await sessionOf(page);
  await page.click("#text", { clickCount: 3 });
  await page.evaluate(() => { Promise.reject(new Error("fetch failed")); });
  await page.waitForTimeout(200);
  await page.evaluate(() => moodring.flush());
  const events = await office.eventsOnce(session, 5);
  assert.deepEqual(sortedTypes(events), ["click", "click", "click", "error", "page_view"]);
  assert.equal(events.find((e) => e.type === "error").message, "fetch failed");
  await context.close();
});

test("closing the page flushes the last batch", async () => {
  const { context, page } = await visit({ init: { key: pk, ...calm, flushMs: 60000 } });
  const session = await sessionOf(page);
  await page.waitForTimeout(300); // the session has started and the first flush has gone
  for (let i = 0; i < 2; i++) await page.mouse.click(600 + i * 100, 600);
  await page.close({ runBeforeUnload: true });
  const events = await office.eventsOnce(session, 3);
  assert.deepEqual(sortedTypes(events), ["click", "click", "page_view"]);
  await context.close();
});

test("offline and back: every event is stored once", async () => {
  const { context, page } = await visit({ init: { key: pk, ...calm } });
  const session = await sessionOf(page);
  await office.eventsOnce(session, 1);
  await context.setOffline(true);
  for (let i = 0; i < 4; i++) await page.mouse.click(500, 500 + i * 60);
  await page.evaluate(() => moodring.flush());
  await page.waitForTimeout(1500); // at least one failed attempt
  await context.setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event("online")));
  const events = await office.eventsOnce(session, 5);
  await page.waitForTimeout(1000); // anything sent twice would arrive by now
  const stored = await office.events(session);
  assert.deepEqual(sortedTypes(stored), ["click", "click", "click", "click", "page_view"]);
  assert.equal(new Set(stored.map((e) => e.event_id)).size, stored.length);
  assert.equal(events.length, 5);
  await context.close();
});

test("the page's credentials reach its own session only, and no secret key is in the page", async () => {
  await office.call("POST", "/v1/sessions/another-visitor/events", { events: [{ type: "click" }] });
  const { context, page, errors } = await visit({ init: { key: pk, ...calm } });
  const session = await sessionOf(page);
  const tries = await page.evaluate(async (base) => {
    const { token } = JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage).find((k) => k.startsWith("moodring:"))));
    const auth = { Authorization: `Bearer ${token}` };
    const status = (path, init = {}) => fetch(base + path, { ...init, headers: { ...auth, ...(init.headers || {}) } }).then((r) => r.status);
    return {
      ownMood: await status(`/v1/sessions/${window.moodring.session()}/mood`),
      otherMood: await status("/v1/sessions/another-visitor/mood"),
      otherEvents: await status("/v1/sessions/another-visitor/events", {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ events: [{ type: "click" }] }),
      }),
      analytics: await status("/v1/analytics/moods"),
      exported: await status("/v1/analytics/export"),
      erase: await status("/v1/sessions/another-visitor", { method: "DELETE" }),
      keys: await status("/v1/keys/publishable"),
    };
  }, server.base);
  assert.deepEqual(tries, { ownMood: 200, otherMood: 403, otherEvents: 403, analytics: 403, exported: 403, erase: 403, keys: 403 });
  const content = await page.evaluate(() =>
    document.documentElement.outerHTML + JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
  assert.ok(!content.includes("sm_"), "no secret key in the page");
  assert.ok(content.includes(pk) && content.includes(session));
  assert.equal((await office.events("another-visitor")).length, 1);
  assert.deepEqual(errors, [], "the tracker threw nothing");
  await context.close();
});

test("a page on an origin the key does not allow stores nothing", async () => {
  const before = await office.sessionCount();
  const { context, page } = await visit({ init: { key: pk, ...calm } }, evil.origin);
  await page.mouse.click(180, 124);
  await page.waitForTimeout(1500);
  assert.equal(await page.evaluate(() => window.moodring.session()), null);
  assert.equal(await office.sessionCount(), before);
  await context.close();
});

test("a token from the page's own server is renewed before it expires", async () => {
  const minted = await office.call("POST", "/v1/tokens", { session_id: "visitor-renewed", ttl_s: 60 });
  assert.equal(minted.status, 201);
  const { context, page } = await visit({ init: { token: minted.json.token, ...calm } });
  assert.equal(await sessionOf(page), "visitor-renewed");
  const stored = () => page.evaluate(() => JSON.parse(sessionStorage.getItem("moodring:")).token);
  await until(async () => (await stored()) !== minted.json.token, 15000, "the renewed token");
  await page.mouse.click(300, 600);
  await page.evaluate(() => moodring.flush());
  const events = await office.eventsOnce("visitor-renewed", 2);
  assert.deepEqual(sortedTypes(events), ["click", "page_view"]);
  await context.close();
});

test("a visitor who opts out sends nothing more, on this page or the next", async () => {
  const { context, page } = await visit({ init: { key: pk, ...calm } });
  const session = await sessionOf(page);
  await office.eventsOnce(session, 1);
  await page.evaluate(() => moodring.optOut());
  await page.mouse.click(300, 600);
  await page.evaluate(() => moodring.flush());
  await page.reload();
  await page.mouse.click(300, 600);
  await page.evaluate(() => moodring.flush());
  await page.waitForTimeout(800);
  assert.deepEqual(types(await office.events(session)), ["page_view"]);
  await context.close();
});
