// End-to-end test of the gom-hub dashboard in a real browser (Debian's
// chromium, driven by playwright-core).
//
//   node tests/e2e/dashboard.mjs DESC.json
//
// DESC.json describes a running setup (written by
// tests/integration/test_dashboard_e2e.py):
//   {"url": "http://127.0.0.1:PORT",
//    "admin": {"user", "password"}, "reader": {"user", "password"},
//    "agent_bin": "/path/gom-agent", "agent_config": "/path/agent.cfg",
//    "report": "/path/report.json", "unit": "18079",
//    "form": "HT-VSTBPN-6T", "period": "2026-H2",
//    "expected_state": "on_time" | "late",
//    "cell": "TC3.so", "expected_total": 42,
//    "screenshots": "/path/dir", "chromium": "/usr/bin/chromium" (optional)}
//
// Every wait has a deadline; a step that does not see what it expects
// fails with a message naming it, leaves a screenshot, and the script
// exits non-zero.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const WAIT = 20000;           // ms for an ordinary page condition
const LIVE_WAIT = 60000;      // ms for a report to travel agent -> hub -> page

if (process.argv.length < 3) {
  console.error('usage: node dashboard.mjs DESC.json');
  process.exit(2);
}
const desc = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
for (const k of ['url', 'admin', 'reader', 'agent_bin', 'agent_config', 'report', 'unit', 'form',
  'period', 'expected_state', 'cell', 'expected_total', 'screenshots']) {
  if (desc[k] === undefined) { console.error(`dashboard.mjs: ${k} missing from ${process.argv[2]}`); process.exit(2); }
}
const shots = desc.screenshots;
fs.mkdirSync(shots, { recursive: true });
const unitRow = `tr[data-unit="${desc.unit}"]`;

let page = null;
let step = 'start';
let shotNo = 0;
const pageErrors = [];

class StepFailure extends Error {}
function fail(msg) { throw new StepFailure(`step "${step}": ${msg}`); }

async function shot(name) {
  shotNo += 1;
  const file = path.join(shots, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot ${file}`);
}

// Waits for a selector; on timeout fails with `what` and what the page shows.
async function expectSelector(selector, what, opts = {}) {
  try {
    return await page.waitForSelector(selector, { timeout: opts.timeout || WAIT, state: opts.state || 'visible' });
  } catch (e) {
    fail(`${what} (waited ${(opts.timeout || WAIT) / 1000} s for ${selector}${opts.state ? ' to be ' + opts.state : ''})` +
      (opts.detail ? `; ${await opts.detail()}` : ''));
  }
}

async function rowState() {
  return page.evaluate((sel) => {
    const tr = document.querySelector(sel);
    return tr ? `row ${sel} has data-state="${tr.getAttribute('data-state')}"` : `no row ${sel} in the page`;
  }, unitRow);
}

async function login(user, password) {
  await expectSelector('#login-user', 'the login screen is shown');
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
}

async function chooseFormAndPeriod() {
  await expectSelector(`#form-select option[value="${desc.form}"]`, `form ${desc.form} is offered in #form-select`, { state: 'attached' });
  await page.selectOption('#form-select', desc.form);
  await expectSelector(`#period-select option[value="${desc.period}"]`, `period ${desc.period} is offered in #period-select`, { state: 'attached' });
  await page.selectOption('#period-select', desc.period);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: desc.chromium || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  try {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e && e.message || e)));
    page.on('console', (m) => { if (m.type() === 'error' && !/status of (401|403|404)/.test(m.text())) pageErrors.push('console: ' + m.text()); });

    // 1. A wrong password is refused.
    step = '1 wrong password';
    console.log(`step ${step}`);
    const resp = await page.goto(desc.url + '/', { timeout: WAIT });
    if (!resp || !resp.ok()) fail(`GET / answered ${resp && resp.status()}`);
    await login(desc.admin.user, desc.admin.password + '-wrong');
    await expectSelector('#login-error', '#login-error is shown after a wrong password');
    if (await page.isVisible('#app')) fail('the application is shown after a wrong password');
    if (!(await page.isVisible('#login-user'))) fail('the login screen is gone after a wrong password');
    await shot('wrong-password');

    // 2. The admin logs in; the unit has not reported.
    step = '2 admin logs in';
    console.log(`step ${step}`);
    await login(desc.admin.user, desc.admin.password);
    await expectSelector('#app', 'the application is shown after logging in as admin');
    await chooseFormAndPeriod();
    await expectSelector(`${unitRow}[data-state="missing"]`, `unit ${desc.unit} is shown as missing`, { detail: rowState });
    await expectSelector('#live[data-connected="true"]', 'the live indicator says connected', { state: 'attached' });
    await shot('arrivals-missing');

    // 3. The agent submits; the row changes without a reload.
    step = '3 live arrival';
    console.log(`step ${step}`);
    await page.evaluate(() => { window.__gomE2eMarker = 'no-reload'; });
    try {
      const out = execFileSync(desc.agent_bin, ['submit', '--config', desc.agent_config, desc.report],
        { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] });
      console.log('  ' + out.trim());
    } catch (e) {
      fail(`gom-agent submit failed: ${e.message}\n${e.stdout || ''}${e.stderr || ''}`);
    }
    await expectSelector(`${unitRow}[data-state="${desc.expected_state}"]`,
      `unit ${desc.unit} becomes ${desc.expected_state} without a reload`, { timeout: LIVE_WAIT, detail: rowState });
    const marker = await page.evaluate(() => window.__gomE2eMarker);
    if (marker !== 'no-reload') fail('the page was reloaded to show the arrival');
    const label = (await page.textContent(unitRow)) || '';
    const want = { on_time: ['Đúng hạn', 'On time'], late: ['Muộn', 'Late'] }[desc.expected_state] || [];
    if (want.length && !want.some((w) => label.includes(w))) fail(`row shows no state label ${want.join('/')}: ${label}`);
    await shot('arrivals-arrived');

    // 4. The consolidated table has the new total.
    step = '4 totals';
    console.log(`step ${step}`);
    await page.click('[data-tab="totals"]');
    const cellSel = `td[data-cell="${desc.cell}"]`;
    await expectSelector(cellSel, `the totals table has cell ${desc.cell}`);
    try {
      await page.waitForFunction(([sel, want]) => {
        const td = document.querySelector(sel);
        return td && td.getAttribute('data-value') === want;
      }, [cellSel, String(desc.expected_total)], { timeout: WAIT });
    } catch (e) {
      const got = await page.getAttribute(cellSel, 'data-value');
      fail(`cell ${desc.cell} has data-value "${got}", expected "${desc.expected_total}"`);
    }
    await shot('totals');

    // 5. The XLSX download.
    step = '5 xlsx download';
    console.log(`step ${step}`);
    await expectSelector('a#download-xlsx', 'the XLSX download link is shown');
    const href = await page.getAttribute('a#download-xlsx', 'href');
    if (!href || !href.includes(`form=${encodeURIComponent(desc.form)}`) || !href.includes(`period=${encodeURIComponent(desc.period)}`)) {
      fail(`a#download-xlsx does not name the form and period: ${href}`);
    }
    let download;
    try {
      [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), page.click('a#download-xlsx')]);
    } catch (e) {
      fail(`clicking a#download-xlsx (${href}) started no download: ${e.message.split('\n')[0]}`);
    }
    const xlsx = path.join(shots, 'totals.xlsx');
    await download.saveAs(xlsx);
    const bytes = fs.readFileSync(xlsx);
    if (bytes.length <= 1024) fail(`the XLSX is only ${bytes.length} bytes`);
    if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) fail(`the XLSX does not start with "PK" (zip): ${bytes.slice(0, 8).toString('hex')}`);
    console.log(`  ${xlsx}: ${bytes.length} bytes (${download.suggestedFilename()})`);
    await shot('after-download');

    // 6. A read-only user cannot enroll.
    step = '6 read-only user';
    console.log(`step ${step}`);
    await page.click('#logout');
    await expectSelector('#login-user', 'the login screen is shown after logging out');
    if (await page.isVisible('#app')) fail('the application is still shown after logging out');
    const afterLogout = await page.evaluate(async () => (await fetch('/api/me', { credentials: 'same-origin' })).status);
    if (afterLogout !== 401) fail(`GET /api/me after logout answered ${afterLogout}, expected 401`);
    await login(desc.reader.user, desc.reader.password);
    await expectSelector('#app', 'the application is shown after logging in as the read-only user');
    await page.click('[data-tab="agents"]');
    await expectSelector('tr[data-agent]', 'the agents table is shown to the read-only user');
    if (await page.isVisible('#enroll-form')) fail('the enroll form is visible to a read-only user');
    if (await page.isVisible('#enroll-submit')) fail('the enroll button is visible to a read-only user');
    if (await page.locator('button.revoke').count()) fail('revoke buttons are shown to a read-only user');
    const res = await page.evaluate(async (unit) => {
      const r = await fetch('/api/agents/enroll', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ key: 'rq:zEcXkiTH0-Y-=tu?d1nJS)>vr=KOn3[1/c!A@', units: [unit] }),
      });
      let body = null;
      try { body = await r.json(); } catch (e) { /* not JSON */ }
      return { status: r.status, body };
    }, desc.unit);
    if (res.status !== 403) fail(`POST /api/agents/enroll as a read-only user answered ${res.status} ${JSON.stringify(res.body)}, expected 403`);
    if (!res.body || typeof res.body.error !== 'string') fail(`the 403 answer has no {"error"}: ${JSON.stringify(res.body)}`);
    await shot('read-only-agents');

    if (pageErrors.length) { step = 'page errors'; fail(`the page reported errors:\n  ${pageErrors.join('\n  ')}`); }
    console.log('dashboard e2e: all 6 steps passed');
  } catch (e) {
    if (page) { try { await shot('failure'); } catch (e2) { /* the page may be gone */ } }
    throw e;
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(`dashboard e2e FAILED: ${e instanceof StepFailure ? e.message : (e && e.stack) || e}`);
  process.exit(1);
});
