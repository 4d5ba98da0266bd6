// Benchmark helper (run by bench_dashboard.py --browser): the dashboard's
// arrivals page in headless Chromium for a large province.
//
//   node tests/bench/dashboard_page.mjs URL USER PASSWORD GROUPS
//
// Prints `page_login_to_arrivals_ms N` and `page_reload_to_arrivals_ms N`
// (until the summary and every group of the arrivals table are drawn),
// then `READY`, and waits for a line on standard input (the caller floods
// the hub with reports meanwhile); then prints the page's long tasks during
// the flood (main thread busy > 50 ms at a time: the page froze), and
// whether the live indicator stayed connected.
import { createRequire } from 'node:module';
import readline from 'node:readline';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [url, user, password, groupsArg] = process.argv.slice(2);
const groups = Number(groupsArg);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const drawn = () => page.waitForFunction(
    (n) => document.querySelector('#arrivals-summary .cards') &&
      document.querySelectorAll('#arrivals-body div.group[data-group]').length >= n,
    groups, { timeout: 60000, polling: 20 });
  await page.goto(url);
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  let t0 = Date.now();
  await page.click('#login-submit');
  await drawn();
  console.log(`page_login_to_arrivals_ms ${Date.now() - t0}`);
  t0 = Date.now();
  await page.reload();
  await drawn();
  console.log(`page_reload_to_arrivals_ms ${Date.now() - t0}`);
  await page.evaluate(() => {
    window.__longtasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push(e.duration);
    }).observe({ entryTypes: ['longtask'] });
    window.__floodStart = performance.now();
  });
  console.log('READY');
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once('line', resolve));
  rl.close();
  // Let the last batch of events land (the page applies them every 0.4 s).
  await page.waitForTimeout(1500);
  const r = await page.evaluate(() => {
    const lt = window.__longtasks;
    return {
      elapsed: performance.now() - window.__floodStart,
      busy: lt.reduce((a, b) => a + b, 0),
      max: lt.length ? Math.max(...lt) : 0,
      count: lt.length,
      live: document.querySelector('#live') ? document.querySelector('#live').className : '',
    };
  });
  console.log(`page_flood_seconds ${(r.elapsed / 1000).toFixed(1)}`);
  console.log(`page_flood_longtasks ${r.count}`);
  console.log(`page_flood_longest_task_ms ${r.max.toFixed(0)}`);
  console.log(`page_flood_busy_share ${(r.busy / r.elapsed).toFixed(3)}`);
  console.log(`page_live_indicator ${JSON.stringify(r.live)}`);
} finally {
  await browser.close();
}
