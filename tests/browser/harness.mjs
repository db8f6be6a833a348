// Shared by the browser scripts: launching Debian's chromium through playwright-core
// (from the node peers' node_modules), logging in, MLLP sending, screenshots, checks.
//
// Environment (set by tests/admin_browser.rs): FERRY_UI (the UI's base URL),
// FERRY_TOKEN (the admin token), FERRY_TEST_NODE_PEERS (where node_modules is),
// FERRY_TEST_CHROMIUM (the browser), FERRY_SHOTS (the screenshot folder); each script
// names its own extra variables. Every step prints one JSON line; a failure prints the
// error, saves a screenshot and exits 1.

import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export function step(what, details = {}) {
  console.log(JSON.stringify({ step: what, ...details }));
}

export async function launch() {
  const peers = need('FERRY_TEST_NODE_PEERS');
  const entry = pathToFileURL(join(peers, 'node_modules/playwright-core/index.mjs'));
  const { chromium } = await import(entry.href);
  const browser = await chromium.launch({
    executablePath: process.env.FERRY_TEST_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Answers like the 401 before login are logged by the browser itself, not the UI.
    const text = message.text();
    if (message.type() === 'error' && !text.startsWith('Failed to load resource')) {
      problems.push(`console: ${text}`);
    }
  });
  return { browser, page, problems };
}

export async function shot(page, name) {
  const folder = need('FERRY_SHOTS');
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  step('screenshot', { path });
}

export async function login(page) {
  await page.goto(need('FERRY_UI'));
  await page.fill('#login-password', need('FERRY_TOKEN'));
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#items');
  step('logged in');
}

/** Clicks `selector`, then the confirm dialog's confirm button. */
export async function clickConfirmed(page, selector) {
  await page.click(selector);
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm-ok');
  await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
}

/** A JSON GET from inside the page, with its session. */
export async function api(page, path) {
  return page.evaluate(async (p) => {
    const response = await fetch(p, { headers: { Accept: 'application/json' } });
    return { status: response.status, body: await response.json() };
  }, path);
}

/** Sends one HL7 message over MLLP and resolves to the ACK. */
export function sendMllp(address, message) {
  const [host, port] = address.split(/:(?=\d+$)/);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), host, () => {
      const frame = [Buffer.from([0x0b]), Buffer.from(message), Buffer.from([0x1c, 0x0d])];
      socket.write(Buffer.concat(frame));
    });
    let got = Buffer.alloc(0);
    socket.on('data', (data) => {
      got = Buffer.concat([got, data]);
      const end = got.indexOf(0x1c);
      if (end >= 0) {
        socket.end();
        resolve(got.subarray(1, end).toString('utf8'));
      }
    });
    socket.on('error', reject);
    socket.setTimeout(30000, () => reject(new Error('no ACK within 30 s')));
  });
}

export function assert(condition, text) {
  if (!condition) throw new Error(text);
}

/** Runs `body`; on failure prints why, saves a screenshot and exits 1. */
export async function run(name, body) {
  let session = null;
  try {
    session = await launch();
    await body(session.page);
    assert(!session.problems.length, `the page reported: ${session.problems.join('; ')}`);
    step('passed', { script: name });
    await session.browser.close();
  } catch (error) {
    const text = String(error.stack || error);
    console.log(JSON.stringify({ step: 'failed', script: name, error: text }));
    if (session) {
      await shot(session.page, `${name}-failure`).catch(() => {});
      await session.browser.close().catch(() => {});
    }
    process.exit(1);
  }
}
