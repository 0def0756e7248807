// Event streams in Debian's chromium: a shop page on a second origin opens an EventSource with a
// stream token its own server made (never the secret key), and hears the session's mood change
// as the API stores it; a tenant-wide token hears every session.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BackOffice, launchBrowser, startServer, startShop, until } from "./harness.mjs";

let server, shop, browser, office;

before(async () => {
  server = await startServer();
  shop = await startShop(server.base);
  browser = await launchBrowser();
  office = await BackOffice.signUp(server.base);
});

after(async () => {
  await browser?.close();
  shop?.stop();
  server?.stop();
});

const meltdown = [
  { type: "rage_click", x: 240, y: 580 },
  { type: "error", message: "Payment failed" },
  { type: "rage_click", x: 240, y: 580 },
  { type: "error", message: "Payment failed" },
];

/** A page on the shop's origin listening to `url` (the token's), its events in window.__pushed. */
async function listen(url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${shop.origin}/page?setup=${encodeURIComponent(JSON.stringify({ bare: true }))}`);
  await page.evaluate(
    (src) =>
      new Promise((resolve, reject) => {
        window.__pushed = [];
        const stream = new EventSource(src);
        for (const type of ["session.started", "mood.changed"]) {
          stream.addEventListener(type, (e) => window.__pushed.push({ type, id: e.lastEventId, message: JSON.parse(e.data) }));
        }
        stream.onopen = () => resolve();
        stream.onerror = () => reject(new Error("the stream failed"));
      }),
    `${server.base}${url}`,
  );
  return { context, page };
}

test("a page hears its session's mood change through an EventSource and a stream token", async () => {
  const token = await office.call("POST", "/v1/stream/tokens", { session_id: "checkout-1", ttl_seconds: 600 });
  assert.equal(token.status, 201);
  assert.ok(!token.json.url.includes(office.key), "no secret key in the URL");
  const { context, page } = await listen(token.json.url);
  assert.equal((await office.call("POST", "/v1/sessions/checkout-1/events", { events: meltdown })).status, 200);
  const pushed = await until(async () => {
    const got = await page.evaluate(() => window.__pushed);
    return got.some((e) => e.message.data.mood === "frustrated") ? got : null;
  }, 10000, "the change on the page");
  assert.equal(pushed[0].type, "session.started");
  const change = pushed.find((e) => e.message.data.mood === "frustrated");
  assert.equal(change.type, "mood.changed");
  assert.equal(change.id, String(change.message.id), "the SSE id is the message id");
  assert.equal(change.message.data.session_id, "checkout-1");
  const mood = (await office.call("GET", "/v1/sessions/checkout-1/mood")).json;
  assert.equal(pushed.at(-1).message.data.mood, mood.mood);
  // Another session's events never reach this page.
  await office.call("POST", "/v1/sessions/checkout-2/events", { events: meltdown });
  await page.waitForTimeout(1500);
  assert.ok((await page.evaluate(() => window.__pushed)).every((e) => e.message.data.session_id === "checkout-1"));
  await context.close();
});

test("a tenant-wide token hears every session, only in the moods it names", async () => {
  const token = await office.call("POST", "/v1/stream/tokens", { moods: ["frustrated"] });
  const { context, page } = await listen(token.json.url);
  for (const session of ["a-1", "a-2"]) {
    await office.call("POST", `/v1/sessions/${session}/events`, { events: meltdown });
  }
  const sessions = (got) => [...new Set(got.map((e) => e.message.data.session_id))].sort();
  const pushed = await until(async () => {
    const got = await page.evaluate(() => window.__pushed);
    return sessions(got).length === 2 ? got : null;
  }, 10000, "both sessions' changes");
  assert.deepEqual(sessions(pushed), ["a-1", "a-2"]);
  assert.ok(pushed.every((e) => e.message.data.mood === "frustrated"));
  await context.close();
});
