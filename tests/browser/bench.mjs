// The tracker's main-thread cost per 1,000 scroll events in Debian's chromium: the time to
// dispatch 1,000 scroll events on a page with the tracker, minus the same on the same page
// without it (median of 7 runs), with the default throttle (250 ms) and with none (every
// event detected, queued and sent in batches of 50). Prints one line per case.
//
//   MOODRING_BIN=... MOODRING_DATABASE_URL=sqlite:///tmp/bench.db?mode=rwc node bench.mjs
import { BackOffice, launchBrowser, startServer, startShop } from "./harness.mjs";

const server = await startServer();
const shop = await startShop(server.base);
const browser = await launchBrowser();
const office = await BackOffice.signUp(server.base);
const pk = await office.publishableKey([shop.origin]);

async function cost(setup) {
  const page = await browser.newPage();
  await page.goto(`${shop.origin}/page?setup=${encodeURIComponent(JSON.stringify(setup))}`);
  if (setup.init) await page.waitForFunction(() => window.moodring.session());
  const runs = [];
  for (let run = 0; run < 7; run++) {
    runs.push(await page.evaluate(() => {
      const t0 = performance.now();
      for (let i = 0; i < 1000; i++) {
        document.documentElement.scrollTop = 500 + (i % 40) * 50;
        window.dispatchEvent(new Event("scroll"));
      }
      return performance.now() - t0;
    }));
    await page.waitForTimeout(300);
  }
  await page.close();
  return runs.sort((a, b) => a - b)[3];
}

// A page without the tracker: init with no credentials would throw, so none is loaded.
const bare = await cost({ bare: true });
for (const [name, init] of [["default throttle (250 ms)", { key: pk }], ["no throttle", { key: pk, scrollMs: 0 }]]) {
  const withTracker = await cost({ init });
  console.log(`tracker, ${name}: ${(withTracker - bare).toFixed(2)} ms of main thread per 1,000 scroll events (page alone ${bare.toFixed(2)} ms, with tracker ${withTracker.toFixed(2)} ms)`);
}
await browser.close();
shop.stop();
server.stop();
