// The console in a real headless Chromium, driven by playwright-core.
// Usage: node flow.mjs PLAYWRIGHT_CORE_ENTRY ADMIN_URL ADMIN_KEY EMSP_VERSIONS_URL EMSP_TOKEN_A SCREENSHOT_DIR
// Exits non-zero (with the failed check on stderr) when the console does not do what it says.
import assert from 'node:assert/strict';
import path from 'node:path';

const [entry, adminUrl, adminKey, versionsUrl, tokenA, shots] = process.argv.slice(2);
const { chromium } = await import(entry);
const ui = `${adminUrl}/admin/ui`;
// Bounded: each wait and each navigation gives up after this long.
const WAIT = 15000;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let page;
let step = 0;

async function shot(name) {
  step += 1;
  await page.screenshot({ path: path.join(shots, `${String(step).padStart(2, '0')}-${name}.png`),
                          fullPage: true });
}

async function text(locator) {
  await locator.first().waitFor({ timeout: WAIT });
  return (await locator.first().innerText()).trim();
}

// Reload until `check` holds (the push worker delivers in the background), within WAIT.
async function until(check, what) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`still not true after ${WAIT} ms: ${what}`);
    await page.waitForTimeout(200);
    await page.reload();
  }
}

try {
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT);
  page = await context.newPage();
  const scripts = [];
  page.on('dialog', (dialog) => { scripts.push(dialog.message()); dialog.dismiss(); });

  // Unauthenticated: sent to the log-in form; a wrong key first.
  await page.goto(`${ui}/partners`);
  assert.equal(new URL(page.url()).pathname, '/admin/ui/login');
  await page.fill('input[name=key]', 'not-the-key');
  await page.click('button[type=submit]');
  assert.match(await text(page.locator('.error')), /wrong admin key/);
  await shot('login-wrong-key');
  await page.fill('input[name=key]', adminKey);
  await page.click('button[type=submit]');
  await page.waitForURL(`${ui}/partners`);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'ocpi_console');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', 'session cookie');
  assert.notEqual(session.value, adminKey);
  await shot('partners-empty');

  // Register with the fake eMSP through the form.
  await page.fill('#register input[name=versions_url]', versionsUrl);
  await page.fill('#register input[name=token]', tokenA);
  await page.click('#register button[type=submit]');
  await page.waitForURL(/\/admin\/ui\/partners\/\d+$/);
  const partnerUrl = page.url();
  assert.equal(await text(page.locator('#partner-status')), 'REGISTERED');
  assert.match(await text(page.locator('.notice')), /registered with partner/);
  await shot('partner-registered');

  // Push now: LOC1 is taken, LOC2 refused with the partner's message.
  await page.selectOption('#push-partner select[name=module]', 'locations');
  await page.click('#push-partner button[type=submit]');
  await page.waitForURL(partnerUrl);
  assert.match(await text(page.locator('.notice')), /push queued: 2/);
  await until(async () => (await page.locator('#last-push').innerText()).trim() !== ''
      && (await page.locator('#refused td.message').count()) > 0, 'a last push and a refusal');
  const refusal = await text(page.locator('#refused tr', { hasText: 'LOC2' }));
  assert.match(refusal, /EVSE uid unknown <script>alert\(1\)<\/script>/);
  assert.match(await text(page.locator('#attempts tr', { hasText: 'LOC1' })), /PUT/);
  await shot('partner-pushes');

  await page.goto(`${ui}/partners`);
  const row = page.locator('#partners tr[data-partner]');
  assert.match(await text(row), /REGISTERED/);
  assert.match(await text(row), /EVSE uid unknown <script>/);
  await shot('partners-registered');

  // Locations: unpublish and publish LOC1, push LOC1 alone.
  await page.goto(`${ui}/locations`);
  const loc1 = page.locator('tr[data-location=LOC1]');
  assert.equal(await text(loc1.locator('.published')), 'yes');
  assert.match(await text(loc1.locator('.evse-status')), /^[A-Z]+$/);
  await shot('locations');
  await loc1.locator('button', { hasText: 'Unpublish' }).click();
  await page.waitForURL(`${ui}/locations`);
  assert.match(await text(page.locator('.notice')), /location LOC1 unpublished/);
  assert.equal(await text(page.locator('tr[data-location=LOC1] .published')), 'no');
  await shot('location-unpublished');
  await page.locator('tr[data-location=LOC1] button', { hasText: 'Publish' }).click();
  await page.waitForURL(`${ui}/locations`);
  assert.equal(await text(page.locator('tr[data-location=LOC1] .published')), 'yes');
  await page.locator('tr[data-location=LOC1] button', { hasText: 'Push' }).click();
  await page.waitForURL(`${ui}/locations`);
  assert.match(await text(page.locator('.notice')), /push queued: 1/);
  await shot('location-pushed');

  await page.goto(`${ui}/sessions`);
  await page.locator('#sessions').waitFor();
  await shot('sessions-cdrs');
  await page.goto(`${ui}/commands`);
  await page.locator('#commands').waitFor();
  await shot('commands');

  // Rotate, then unregister through its confirm step.
  await page.goto(partnerUrl);
  await page.click('#rotate');
  await page.waitForURL(partnerUrl);
  assert.match(await text(page.locator('.notice')), /credentials rotated/);
  await shot('partner-rotated');
  await page.click('#unregister');
  await page.waitForURL(`${partnerUrl}/unregister`);
  await shot('unregister-confirm');
  await page.click('#confirm-unregister');
  await page.waitForURL(partnerUrl);
  assert.equal(await text(page.locator('#partner-status')), 'UNREGISTERED');
  assert.match(await text(page.locator('.notice')), /unregistered/);
  await shot('partner-unregistered');

  // Nothing a partner sent ran as script on any page.
  assert.deepEqual(scripts, []);

  await page.click('header button[type=submit]');
  await page.waitForURL(`${ui}/login`);
  await page.goto(`${ui}/partners`);
  assert.equal(new URL(page.url()).pathname, '/admin/ui/login');
  await shot('logged-out');
  console.log('console flow: ok');
} catch (error) {
  if (page) await shot('failed').catch(() => {});
  console.error(error && error.stack ? error.stack : error);
  process.exitCode = 1;
} finally {
  await browser.close();
}
