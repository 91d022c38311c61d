// Drives the demo example (examples/demo) in headless Chromium through playwright-core:
// two browser contexts (two devices of one user) log in, count, fill a cart, list their
// sessions, and one signs the other out. Run by tests/demo_browser.rs, which starts the
// demo and passes BASE_URL, CHROMIUM (the browser's path), ARTIFACTS (where screenshots
// go) and SAME_SITE (the SameSite the demo's configuration gives its cookies).
'use strict';

// playwright-core 1.65 needs node 20; Debian 12's own nodejs is 18.
if (Number(process.versions.node.split('.')[0]) < 20) {
  console.error(`node ${process.version} is too old for playwright-core: install node 20 or later`);
  process.exit(1);
}

const assert = require('node:assert/strict');
const path = require('node:path');
const { chromium } = require('playwright-core');

const base = process.env.BASE_URL;
const artifacts = process.env.ARTIFACTS;
const sameSite = process.env.SAME_SITE;
const COOKIES = ['session', 'session.sig'];

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
  console.log(`screenshot ${name}.png`);
}

// Clicks something that posts a form, and waits for the page the redirect leads to.
async function submit(page, selector) {
  await Promise.all([page.waitForEvent('load'), page.click(selector)]);
}

async function login(page, name) {
  await page.goto(`${base}/`);
  await page.fill('#login input[name=user]', name);
  await submit(page, '#login button');
  assert.equal(new URL(page.url()).pathname, '/', 'a login leads home');
}

async function text(page, selector) {
  return (await page.textContent(selector)).trim();
}

async function views(page) {
  return Number(await text(page, '#views'));
}

// The session cookies the context holds, checked the way a browser keeps them: HttpOnly,
// Secure (the default, which Chromium keeps from http://127.0.0.1 as from https), the
// configured SameSite, and out of reach of page scripts. Returns the id cookie's value.
async function checkCookies(context, page, when) {
  const held = await context.cookies();
  assert.deepEqual(held.map((c) => c.name).sort(), COOKIES, `cookies held ${when}`);
  for (const cookie of held) {
    assert.equal(cookie.httpOnly, true, `${cookie.name} is HttpOnly ${when}`);
    assert.equal(cookie.secure, true, `${cookie.name} is Secure, over http://127.0.0.1 ${when}`);
    assert.equal(cookie.sameSite, sameSite, `${cookie.name} has SameSite=${sameSite} ${when}`);
    assert.equal(cookie.path, '/', `${cookie.name} has Path=/ ${when}`);
  }
  assert.equal(await page.evaluate(() => document.cookie), '', `no cookie visible to scripts ${when}`);
  return held.find((c) => c.name === 'session').value;
}

// The second device's browser, as its `User-Agent` says.
const PHONE_AGENT =
  'Mozilla/5.0 (Android 14; Mobile; rv:140.0) Gecko/140.0 Firefox/140.0';

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ['--disable-dev-shm-usage'],
  });
  try {
    const laptop = await browser.newContext();
    laptop.setDefaultTimeout(15000);
    const a = await laptop.newPage();

    // A guest: the login form, and a first counted visit.
    await a.goto(`${base}/`);
    assert.ok(await a.isVisible('#login'), 'a guest sees the login form');
    assert.equal(await views(a), 1);
    const guestId = await checkCookies(laptop, a, 'as a guest');
    await shot(a, '01-guest-login-form');

    // Log in (the form is on the home page, loaded once more): the count carries over,
    // the id changes.
    await login(a, 'ada');
    assert.equal(await text(a, '#user'), 'ada');
    assert.equal(await views(a), 3, 'the visit count survives the login');
    const adaId = await checkCookies(laptop, a, 'after the login');
    assert.notEqual(adaId, guestId, 'the login renews the session id');
    await shot(a, '02-home-signed-in');

    // Count.
    await a.reload();
    assert.equal(await views(a), 4);
    await a.reload();
    assert.equal(await views(a), 5);

    // The cart, a second session struct.
    await a.goto(`${base}/cart`);
    assert.ok(await a.isVisible('#empty'));
    for (const product of ['tea', 'jam']) {
      await a.selectOption('#add select', product);
      await submit(a, '#add button');
    }
    assert.deepEqual(await a.locator('#items li').allTextContents(), ['Tea', 'Jam']);
    await shot(a, '03-cart');

    // A second device of the same user.
    const phone = await browser.newContext({ userAgent: PHONE_AGENT });
    phone.setDefaultTimeout(15000);
    const b = await phone.newPage();
    await login(b, 'ada');
    assert.equal(await text(b, '#user'), 'ada');
    assert.equal(await text(b, '#cart-count'), '0', 'each device has its own cart');
    const phoneId = await checkCookies(phone, b, 'on the second device');
    assert.notEqual(phoneId, adaId);
    await b.goto(`${base}/sessions`);
    assert.equal(await b.locator('#sessions li').count(), 2, 'two sessions of ada');
    assert.equal(await b.locator('#sessions li.current').count(), 1, 'one marked current');
    // Each session says the browser it signed in from, when, and when it was last used.
    assert.equal(await text(b, '#sessions li.current .browser'), 'Firefox on Android');
    assert.equal(await text(b, '#sessions li:not(.current) .browser'), 'Chrome on Linux');
    for (const field of ['created', 'active']) {
      assert.deepEqual(
        await b.locator(`#sessions li .${field}`).allTextContents(),
        ['just now', 'just now'],
        `${field} of each session`,
      );
    }
    await shot(b, '04-sessions-second-device');

    // Sign out everywhere else, from the laptop.
    await a.goto(`${base}/sessions`);
    assert.equal(await a.locator('#sessions li').count(), 2);
    await submit(a, '#end-others');
    assert.match(await text(a, '#ended'), /Signed out 1 other session/);
    assert.equal(await a.locator('#sessions li').count(), 1, 'only the laptop is left');
    assert.equal(await a.locator('#sessions li.current').count(), 1);
    await shot(a, '05-signed-out-everywhere-else');

    // The phone is signed out; the laptop is not, and keeps its cart.
    await b.goto(`${base}/`);
    assert.ok(await b.isVisible('#login'), 'the other device sees the login form again');
    assert.equal(await b.locator('#user').count(), 0);
    assert.equal(await views(b), 1, 'and starts a fresh session');
    await shot(b, '06-second-device-signed-out');
    await a.goto(`${base}/`);
    assert.equal(await text(a, '#user'), 'ada');
    assert.equal(await text(a, '#cart-count'), '2');

    // Log out: a fresh guest session (the home page counts) with a new id.
    await submit(a, '#logout');
    assert.ok(await a.isVisible('#login'), 'logged out');
    assert.equal(await views(a), 1, 'nothing of the old session is left');
    assert.equal(await text(a, '#cart-count'), '0');
    assert.notEqual(await checkCookies(laptop, a, 'after the logout'), adaId);

    // A name is shown as typed, never run as HTML.
    await login(a, '<b>eve</b>');
    assert.equal(await text(a, '#user'), '<b>eve</b>');
    assert.equal(await a.locator('#user b').count(), 0, 'no element made from the name');
    await shot(a, '07-name-escaped');
  } finally {
    await browser.close();
  }
  console.log('browser flow passed');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
