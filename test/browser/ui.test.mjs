// End-to-end tests of the Dictum web UI in Debian's chromium (playwright-core, no bundled
// browsers). scripts/browser-test.sh prepares the server and the environment variables.
import { describe, test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run scripts/browser-test.sh`);
  return v;
};
const BASE = env('DICTUM_URL');
const ARTIFACTS = process.env.ARTIFACTS || path.join(here, 'artifacts');
const AXE = readFileSync(path.join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
const READY_TIMEOUT = 180_000; // random-weight whisper on 2 busy cores

mkdirSync(ARTIFACTS, { recursive: true });

let context;
let page;
let profile;
const problems = []; // CSP violations and script errors seen on any page

async function shot(name, p = page) {
  await p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// a11y runs axe-core in the page (through the DevTools protocol, so the page's CSP stays on)
// and fails on serious or critical violations.
async function a11y(name, p = page) {
  await p.evaluate(`${AXE}\n;0`);
  const result = await p.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: serious/critical accessibility violations:\n${JSON.stringify(bad, null, 2)}`);
}

function watch(p) {
  p.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) problems.push(`${p.url()}: ${t}`);
  });
  p.on('pageerror', (e) => problems.push(`${p.url()}: ${e.message}`));
}

async function login(user, password) {
  await context.clearCookies();
  await page.goto(`${BASE}/login`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: 'Log in' }).click()]);
}

async function logout() {
  await Promise.all([page.waitForURL(/\/login/), page.getByRole('button', { name: 'Log out' }).click()]);
}

// totp computes the current RFC 6238 code (SHA-1, 30 s, 6 digits) of a base32 secret.
function totp(secret, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

// tabTo presses Tab until the field with this name has focus (keyboard-only navigation).
async function tabTo(name, max = 8) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((n) => document.activeElement?.name === n, name)) return;
  }
  throw new Error(`Tab never reached the ${name} field`);
}

async function apiGet(p, url) {
  return p.evaluate(async (u) => {
    const r = await fetch(u, { headers: { Accept: 'application/json' } });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, url);
}

// test is node:test's test, plus a screenshot and the focused element when a test fails.
function test(name, fn) {
  return nodeTest(name, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50);
      await shot(`FAILED-${slug}`).catch(() => {});
      const focus = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200)).catch(() => '?');
      e.message += `\n  at ${page.url()}; focused: ${focus}`;
      throw e;
    }
  });
}

before(async () => {
  profile = mkdtempSync(path.join(tmpdir(), 'dictum-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${env('FAKE_MIC')}`,
      // A LAN-like name for the loopback server: http://dictum.test is not a secure context.
      '--host-resolver-rules=MAP dictum.test 127.0.0.1'],
  });
  context.setDefaultTimeout(20_000);
  page = context.pages()[0] || (await context.newPage());
  watch(page);
});

after(async () => {
  if (context) await context.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('timekeeper alice', () => {
  let recordedEntry = '';
  let recordedRec = '';
  let manualEntry = '';

  test('login page: title, labels, wrong password message, accessible', async () => {
    await page.goto(`${BASE}/inbox`);
    assert.match(new URL(page.url()).pathname, /^\/login/);
    assert.match(await page.title(), /Log in/);
    await shot('login');
    await a11y('login');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Wrong username or password.').waitFor();
    assert.equal(await page.getByLabel('Username').inputValue(), 'alice', 'the username is kept');
    await page.getByLabel('Password').fill(env('ALICE_PASSWORD'));
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: 'Log in' }).click()]);
    // next= brings her back to the page she asked for.
    assert.equal(new URL(page.url()).pathname, '/inbox');
  });

  test('record from the microphone: level meter, upload progress, draft arrives live in the inbox', async () => {
    await page.goto(`${BASE}/record`);
    assert.match(await page.title(), /^Record/);
    const btn = page.locator('#rec-btn');
    await assert.doesNotReject(btn.waitFor());
    assert.equal(await btn.isEnabled(), true, 'record button enabled on http://127.0.0.1 (a secure context)');
    await a11y('record');
    await btn.click();
    await page.waitForFunction(() => document.querySelector('#rec-btn').dataset.recording === 'true');
    await page.waitForFunction(() => document.querySelector('#rec-time').textContent !== '0:00', null, { timeout: 5000 });
    // The level meter moves with the fake microphone's speech.
    await page.waitForFunction(() => {
      const m = /scaleX\(([\d.]+)\)/.exec(document.querySelector('#rec-level').style.transform);
      return m && parseFloat(m[1]) > 0.05;
    }, null, { timeout: 10_000 });
    await page.waitForTimeout(4500);
    await shot('record-recording');
    await btn.click();
    const li = page.locator('#recent li[data-rec]').first();
    await li.waitFor({ timeout: 60_000 });
    recordedRec = await li.getAttribute('data-rec');
    assert.match(recordedRec, /\S+/);
    await page.getByText('Uploaded. Dictum is transcribing it').waitFor();
    await shot('record-uploaded');

    await page.goto(`${BASE}/inbox`);
    const card = page.locator('#cards .card').first();
    await card.waitFor({ timeout: READY_TIMEOUT });
    recordedEntry = await card.getAttribute('data-entry-id');
    const rec = await apiGet(page, `/api/v1/recordings/${recordedRec}`);
    assert.equal(rec.status, 200);
    assert.equal(rec.body.status, 'done');
    assert.equal(rec.body.entry_id, recordedEntry, 'the card is the draft of the recording just made');
    assert.equal(await card.locator('audio').getAttribute('src'), `/api/v1/recordings/${recordedRec}/audio`);
    // The audio plays back: the server answers a range request with WAV bytes.
    const audio = await page.evaluate(async (u) => {
      const r = await fetch(u, { headers: { Range: 'bytes=0-11' } });
      const b = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, magic: String.fromCharCode(...b.slice(0, 4)) + String.fromCharCode(...b.slice(8, 12)) };
    }, `/api/v1/recordings/${recordedRec}/audio`);
    assert.deepEqual(audio, { status: 206, magic: 'RIFFWAVE' });
    await shot('inbox-draft');
    await a11y('inbox');
  });

  test('upload a file: progress, live status, second draft', async () => {
    await page.goto(`${BASE}/record`);
    const before = await page.locator('#recent li[data-rec]').count();
    await page.getByLabel('Audio file').setInputFiles(env('SPEECH_WAV'));
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.waitForFunction((n) => document.querySelectorAll('#recent li[data-rec]').length > n, before, { timeout: 60_000 });
    const li = page.locator('#recent li[data-rec]').first();
    const id = await li.getAttribute('data-rec');
    assert.notEqual(id, recordedRec);
    // Live status over SSE on the record page until the draft is ready.
    await page.waitForFunction((rid) => document.querySelector(`[data-rec="${rid}"]`)?.dataset.status === 'done', id, { timeout: READY_TIMEOUT });
    await li.getByRole('link', { name: 'Review draft' }).waitFor();
    await shot('record-after-upload');
    await page.goto(`${BASE}/inbox`);
    assert.equal(await page.locator('#cards .card').count(), 2);
  });

  test('flaky LAN: a failed upload is kept in the browser and sent when the network is back', async () => {
    await page.goto(`${BASE}/record`);
    const before = await page.locator('#recent li[data-rec]').count();
    await context.setOffline(true);
    try {
      await page.getByLabel('Audio file').setInputFiles(env('SPEECH_WAV'));
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await page.locator('#pending').waitFor({ state: 'visible' });
      assert.equal(await page.locator('#pending-list li').count(), 1);
      assert.match(await page.locator('#pending-list').textContent(), /Waiting/);
      assert.match(await page.locator('#rec-state').textContent(), /kept in this browser/);
      await shot('record-pending');
      // It is in IndexedDB, not only on the page.
      const kept = await page.evaluate(() => new Promise((resolve) => {
        const r = indexedDB.open('dictum', 1);
        r.onsuccess = () => { const q = r.result.transaction('pending').objectStore('pending').count(); q.onsuccess = () => resolve(q.result); };
      }));
      assert.equal(kept, 1);
    } finally {
      await context.setOffline(false);
    }
    // Back online: the page retries by itself (online event), or on the button.
    try {
      await page.locator('#pending').waitFor({ state: 'hidden', timeout: 10_000 });
    } catch {
      await page.getByRole('button', { name: 'Retry now' }).click();
      await page.locator('#pending').waitFor({ state: 'hidden', timeout: 60_000 });
    }
    await page.waitForFunction((n) => document.querySelectorAll('#recent li[data-rec]').length > n, before);
  });

  test('edit matter, hours, codes and narrative; approve', async () => {
    await page.goto(`${BASE}/inbox#entry-${recordedEntry}`);
    const card = page.locator(`#entry-${recordedEntry}`);
    await card.getByLabel('Matter').fill('2026-014 — Smith v. Jones (Smith Holdings)');
    await card.getByLabel('Hours').fill('0.3');
    await card.getByLabel('Activity').selectOption('A103');
    await card.getByLabel('Task').selectOption('L350');
    await card.getByLabel('Narrative').fill('Draft motion to compel discovery responses.');
    await card.getByRole('button', { name: 'Save' }).click();
    await card.locator('[data-role=saved]', { hasText: 'Saved' }).waitFor();
    const e = await apiGet(page, `/api/v1/entries/${recordedEntry}`);
    assert.equal(e.body.hours, 0.3);
    assert.equal(e.body.activity, 'A103');
    assert.equal(e.body.task, 'L350');
    assert.equal(e.body.narrative, 'Draft motion to compel discovery responses.');
    const matters = await apiGet(page, '/api/v1/matters?q=2026-014');
    assert.equal(e.body.matter, matters.body.matters[0].id);
    // A matter that does not exist is refused with a clear message, nothing saved.
    await card.getByLabel('Matter').fill('no such matter');
    await card.getByRole('button', { name: 'Save' }).click();
    await card.getByText('is not a matter').waitFor();
    await card.getByLabel('Matter').fill('2026-014');
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await card.waitFor({ state: 'detached' });
    await page.locator('#toast', { hasText: 'Approved.' }).waitFor();
    const after = await apiGet(page, `/api/v1/entries/${recordedEntry}`);
    assert.equal(after.body.status, 'approved');
    assert.equal(after.body.matter, matters.body.matters[0].id, 'the bare number "2026-014" picks the matter');
  });

  test('approved list shows the entry with totals and can reopen it', async () => {
    await page.goto(`${BASE}/approved`);
    assert.match(await page.title(), /^Approved time/);
    const row = page.locator(`tr[data-entry-id="${recordedEntry}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /Smith v\. Jones/);
    assert.match(await page.locator('#totals').textContent(), /0\.3\s*h total/);
    await shot('approved');
    await a11y('approved');
    // Filter by a matter without entries: nothing.
    await page.getByLabel('Matter').selectOption({ label: '2026-021 — Acme lease review (Acme Corp)' });
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByText('No entries match these filters.').waitFor();
    // Reopen, then approve again from the inbox.
    await page.goto(`${BASE}/approved`);
    await row.getByRole('button', { name: /Reopen/ }).click();
    await row.getByText('Now a draft again').waitFor();
    assert.equal((await apiGet(page, `/api/v1/entries/${recordedEntry}`)).body.status, 'draft');
    await page.goto(`${BASE}/inbox#entry-${recordedEntry}`);
    await page.locator(`#entry-${recordedEntry}`).getByRole('button', { name: 'Approve', exact: true }).click();
    await page.locator(`#entry-${recordedEntry}`).waitFor({ state: 'detached' });
  });

  test('keyboard only: new manual entry and approve it with shortcuts', async () => {
    await page.goto(`${BASE}/inbox`);
    await page.locator('#main').waitFor();
    const n0 = await page.locator('#cards .card').count();
    await page.keyboard.press('n'); // opens the new-entry form, focus in Matter
    await page.waitForFunction(() => document.activeElement?.id === 'new-matter');
    await page.keyboard.type('2026-021 — Acme lease review (Acme Corp)');
    await tabTo('hours'); // past the date (today; its day/month/year parts are tab stops)
    await page.keyboard.type('1.2');
    await tabTo('activity');
    await page.keyboard.type('A106');
    await tabTo('narrative');
    await page.keyboard.type('Call with client about the lease renewal terms.');
    await page.keyboard.press('Control+Enter');
    await page.waitForFunction(() => document.querySelector('#cards .card[aria-current="true"] [name=narrative]')?.value === 'Call with client about the lease renewal terms.');
    assert.ok((await page.locator('#cards .card').count()) > n0);
    const card = page.locator('#cards .card[aria-current="true"]');
    manualEntry = await card.getAttribute('data-entry-id');
    const created = await apiGet(page, `/api/v1/entries/${manualEntry}`);
    assert.equal(created.body.status, 'draft');
    assert.equal(created.body.hours, 1.2);
    assert.equal(created.body.activity, 'A106');
    assert.equal(created.body.recording_id, null);
    await shot('inbox-keyboard');
    // j/k move the selection; the new card is first.
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    assert.equal(await page.locator('#cards .card[aria-current="true"]').getAttribute('data-entry-id'), manualEntry);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.entryId), manualEntry, 'the selected card has focus');
    await page.keyboard.press('Shift+A'); // approve & next
    await page.locator(`#entry-${manualEntry}`).waitFor({ state: 'detached' });
    const done = await apiGet(page, `/api/v1/entries/${manualEntry}`);
    assert.equal(done.body.status, 'approved');
    // e focuses the narrative of the (next) selected draft; Esc leaves the field again.
    if (await page.locator('#cards .card').count()) {
      await page.keyboard.press('e');
      assert.equal(await page.evaluate(() => document.activeElement?.name), 'narrative');
      await page.keyboard.press('Escape');
      assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('card')), true);
    }
  });

  test('delete a draft and undo', async () => {
    await page.goto(`${BASE}/inbox`);
    const id = await page.locator('#cards .card').first().getAttribute('data-entry-id');
    const card = page.locator(`#entry-${id}`);
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.waitFor({ state: 'detached' });
    assert.equal((await apiGet(page, `/api/v1/entries/${id}`)).body.status, 'deleted');
    await page.locator('#toast').getByRole('button', { name: 'Undo' }).click();
    await page.locator(`#entry-${id}`).waitFor();
    assert.equal((await apiGet(page, `/api/v1/entries/${id}`)).body.status, 'draft');
  });

  test('bulk approve: per-draft errors, then approve the fixed one', async () => {
    await page.goto(`${BASE}/inbox`);
    // The once-pending upload may still be transcribing: its card arrives live.
    await page.waitForFunction(() => document.querySelectorAll('#cards .card').length === 2, null, { timeout: READY_TIMEOUT });
    const ids = await page.locator('#cards .card').evaluateAll((els) => els.map((e) => e.dataset.entryId));
    assert.equal(ids.length, 2, 'the uploaded and the once-pending draft');
    await page.getByLabel('Select all').check();
    await page.getByRole('button', { name: 'Approve selected (2)' }).click();
    await page.locator('#toast', { hasText: 'Approved 0; 2 need attention.' }).waitFor();
    for (const id of ids) assert.match(await page.locator(`#entry-${id} [data-role=error]`).textContent(), /^Not approved: /);
    await shot('inbox-bulk-errors');
    const fix = page.locator(`#entry-${ids[0]}`);
    await fix.getByLabel('Matter').fill('2026-021 — Acme lease review (Acme Corp)');
    await fix.getByLabel('Hours').fill('0.5');
    await fix.getByLabel('Activity').selectOption('A104');
    await page.getByRole('button', { name: 'Approve selected (2)' }).click(); // saves the edited draft first
    await page.locator('#toast', { hasText: 'Approved 1; 1 need attention.' }).waitFor();
    await fix.waitFor({ state: 'detached' });
    const e = await apiGet(page, `/api/v1/entries/${ids[0]}`);
    assert.equal(e.body.status, 'approved');
    assert.equal(e.body.hours, 0.5);
    assert.equal((await apiGet(page, `/api/v1/entries/${ids[1]}`)).body.status, 'draft');
  });

  test('account page: change-password form is labelled and accessible', async () => {
    await page.goto(`${BASE}/account`);
    assert.match(await page.title(), /^Your account/);
    for (const l of ['Current password', 'New password', 'New password again']) await page.getByLabel(l, { exact: true }).waitFor();
    await shot('account');
    await a11y('account');
  });

  test('account page: creating an API token needs the password; it is shown once with its expiry', async () => {
    await page.goto(`${BASE}/account`);
    await page.getByLabel('Name', { exact: true }).fill('browser script');
    await page.getByLabel('Expires in (days)').fill('30');
    await page.getByLabel('Your password').fill('not-my-password');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('The password is wrong.').waitFor();
    await page.getByLabel('Your password').fill(env('ALICE_PASSWORD'));
    await page.getByRole('button', { name: 'Create token' }).click();
    const tok = (await page.locator('#new-token').textContent()).trim();
    assert.match(tok, /^dct_[A-Za-z0-9_-]{43}$/);
    await page.getByRole('cell', { name: 'browser script' }).waitFor();
    await shot('account-token');
    await a11y('account-token');
  });

  test('plain http on a LAN name: the record page explains how to get the microphone', async () => {
    const lan = BASE.replace('127.0.0.1', 'dictum.test');
    await page.goto(`${lan}/login`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(env('ALICE_PASSWORD'));
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: 'Log in' }).click()]);
    await page.goto(`${lan}/record`);
    assert.equal(await page.evaluate(() => window.isSecureContext), false);
    await page.locator('#insecure').waitFor({ state: 'visible' });
    assert.match(await page.locator('#insecure').textContent(), /https:\/\/.*127\.0\.0\.1/s);
    assert.equal(await page.locator('#rec-btn').isDisabled(), true);
    assert.match(await page.locator('#rec-btn').textContent(), /Recording unavailable/);
    // Uploading a file still works there.
    assert.equal(await page.getByLabel('Audio file').isEnabled(), true);
    await shot('record-insecure');
    await a11y('record-insecure');
  });

  test('a timekeeper gets the 403 page for admin pages', async () => {
    const res = await page.goto(`${BASE}/admin/users`);
    assert.equal(res.status(), 403);
    assert.match(await page.title(), /Not allowed/);
    await shot('forbidden');
    await a11y('forbidden');
  });

  test('typed dictation: a whole day typed on the record page gives one draft per entry, each showing its span in the inbox', async () => {
    await page.goto(`${BASE}/record`);
    await page.getByRole('button', { name: 'Draft entries' }).click();
    await page.getByText('Type or paste what you did first.').waitFor();
    await page.getByLabel('What you did').fill('Yesterday: point four on Smith v. Jones reviewing the answer. Then an hour on Smith v. Jones drafting the reply brief.');
    await page.getByRole('button', { name: 'Draft entries' }).click();
    await page.getByText('2 drafts ready in the inbox.').waitFor();
    assert.equal(await page.getByLabel('What you did').inputValue(), '', 'the box is emptied');
    await a11y('record-typed');
    await page.goto(`${BASE}/inbox`);
    const first = page.locator('#cards .card', { has: page.locator('q[data-role=span]', { hasText: 'Yesterday: point four' }) });
    const second = page.locator('#cards .card', { has: page.locator('q[data-role=span]', { hasText: 'Then an hour' }) });
    await first.waitFor();
    await second.waitFor();
    await first.getByText('Typed dictation (no recording).').waitFor();
    await shot('inbox-typed-day');
    await a11y('inbox-typed-day');
  });

  test('account page: add a matter alias, a typed dictation uses it, delete it', async () => {
    await page.goto(`${BASE}/account`);
    await page.getByRole('button', { name: 'Add alias' }).click();
    await page.getByText('Type the words you use for the matter.').waitFor();
    await page.getByLabel('Words', { exact: true }).fill('the marina deal');
    await page.getByLabel('Matter', { exact: true }).selectOption({ label: '2026-021 Acme lease review' });
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Add alias' }).click()]);
    const row = page.locator('#aliases tr[data-phrase="marina deal"]');
    await row.waitFor();
    await a11y('account-aliases');
    await page.goto(`${BASE}/record`);
    await page.getByLabel('What you did').fill('Twenty minutes on the marina deal calling the landlord.');
    await page.getByRole('button', { name: 'Draft entries' }).click();
    await page.getByText('1 draft ready in the inbox.').waitFor();
    await page.goto(`${BASE}/inbox`);
    await page.getByText("matter from your alias 'marina deal'").first().waitFor();
    await page.goto(`${BASE}/account`);
    await page.locator('#aliases tr[data-phrase="marina deal"]').getByRole('button', { name: 'Delete' }).click();
    await page.locator('#aliases tr[data-phrase="marina deal"]').waitFor({ state: 'detached' });
    await page.reload();
    assert.equal(await page.locator('#aliases tr[data-phrase="marina deal"]').count(), 0);
  });

  test('week page: hours per day against the target, days with nothing recorded, links into the inbox', async () => {
    await page.goto(`${BASE}/week`);
    assert.match(await page.title(), /^Week \d{4}-W\d{2}/);
    await page.locator('#week tbody tr').first().waitFor();
    assert.equal(await page.locator('#week tbody tr').count(), 7);
    const api = await apiGet(page, `${BASE}/api/v1/timesheet`);
    assert.equal(api.status, 200);
    const withDrafts = api.body.days.find((d) => d.inbox_link);
    if (withDrafts) {
      const link = page.locator(`#week tr[data-date="${withDrafts.date}"] a`, { hasText: 'Drafts in the inbox' });
      await Promise.all([page.waitForURL(/\/inbox#entry-/), link.click()]);
      await page.goto(`${BASE}/week`);
    }
    await shot('week');
    await a11y('week');
  });

  test('phone width layout', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const p of ['record', 'inbox', 'approved', 'week']) {
      await page.goto(`${BASE}/${p}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${p} scrolls sideways at phone width by ${overflow}px`);
      await shot(`phone-${p}`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    await logout();
  });

  describe('second timekeeper bob', () => {
    test('sees nothing of alice', async () => {
      await login('bob', env('BOB_PASSWORD'));
      await page.goto(`${BASE}/inbox`);
      assert.equal(await page.locator('#cards .card').count(), 0);
      assert.equal(await page.locator('#empty').isVisible(), true);
      assert.equal(await page.locator('#working-list li').count(), 0);
      await shot('inbox-empty-bob');
      for (const id of [recordedEntry, manualEntry]) {
        assert.equal((await apiGet(page, `/api/v1/entries/${id}`)).status, 404);
      }
      assert.equal((await apiGet(page, `/api/v1/recordings/${recordedRec}`)).status, 404);
      const audio = await page.evaluate(async (u) => (await fetch(u)).status, `/api/v1/recordings/${recordedRec}/audio`);
      assert.equal(audio, 404);
      const frag = await page.evaluate(async (u) => (await fetch(u)).status, `/inbox/entries/${recordedEntry}`);
      assert.equal(frag, 404);
      await page.goto(`${BASE}/approved`);
      assert.equal(await page.locator('tr[data-entry-id]').count(), 0);
      await logout();
    });
  });
});

describe('admin and billing', () => {
  test('billing list shows alice’s approved time; export button answers', async () => {
    await login('admin', env('ADMIN_PASSWORD'));
    await page.goto(`${BASE}/billing?status=done`);
    assert.match(await page.title(), /^Billing/);
    assert.equal(await page.locator('tr[data-entry-id]').count(), 3);
    assert.match(await page.locator('#totals').textContent(), /2\.0\s*h total/);
    await page.getByRole('link', { name: 'Download CSV' }).click();
    await page.waitForFunction(() => /not available yet|Downloaded|Not exported/.test(document.querySelector('#export-msg').textContent));
    assert.match(await page.locator('#export-msg').textContent(), /Downloaded/);
    await shot('billing');
    await a11y('billing');
    // LEDES needs one matter and a period: the server's reason is shown.
    await page.getByRole('link', { name: 'Download LEDES' }).click();
    await page.locator('#export-msg', { hasText: 'Not exported: a LEDES invoice needs matter' }).waitFor();
    // Export & lock the approved entries: they become exported and cannot be reopened.
    await page.goto(`${BASE}/billing`);
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Export & lock…' }).click();
    await page.locator('#export-msg', { hasText: 'Exported and locked.' }).waitFor();
    await page.waitForLoadState('load');
    const exported = await apiGet(page, '/api/v1/entries?status=exported');
    assert.equal(exported.body.count, 3);
    await page.goto(`${BASE}/billing?status=exported`);
    assert.equal(await page.locator('tr[data-entry-id]').count(), 3);
    assert.equal(await page.locator('[data-action=reopen]').count(), 0, 'exported entries cannot be reopened');
  });

  test('client share link: a read-only page without an account that works on a phone', async () => {
    await login('admin', env('ADMIN_PASSWORD'));
    const matters = await apiGet(page, '/api/v1/matters?status=all');
    const m = matters.body.matters[0];
    const made = await page.evaluate(async (id) => {
      const r = await fetch(`/api/v1/matters/${id}/shares`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': document.body.dataset.csrf },
        body: JSON.stringify({ from: '2000-01-01', to: '2099-12-31', label: 'browser test' }),
      });
      return { status: r.status, body: await r.json() };
    }, m.id);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const url = new URL(made.body.url);
    // A fresh context: no session cookie, a phone-sized screen.
    await context.clearCookies(); // no session: the link alone must do
    const p = await context.newPage();
    watch(p);
    await p.setViewportSize({ width: 375, height: 740 });
    const res = await p.goto(`${BASE}${url.pathname}`);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['x-robots-tag'] || '', /noindex/);
    assert.equal(res.headers()['referrer-policy'], 'no-referrer');
    assert.equal(await p.locator('meta[name=robots]').getAttribute('content'), 'noindex, nofollow, noarchive');
    assert.ok(await p.getByRole('heading', { name: 'Time entries for review' }).isVisible());
    assert.ok(await p.getByRole('link', { name: 'Download CSV' }).isVisible());
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the share page scrolls sideways on a phone by ${overflow}px`);
    const foreign = await p.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((u) => !u.startsWith(location.origin)));
    assert.deepEqual(foreign, [], 'third-party assets on the share page');
    await shot('share-phone', p);
    await a11y('share-phone', p);
    await p.close();
    await login('admin', env('ADMIN_PASSWORD')); // the next tests go on as the admin
  });

  test('users: add a timekeeper with a one-time password, disable them', async () => {
    await page.goto(`${BASE}/admin/users`);
    await a11y('admin-users');
    await page.getByLabel('Username', { exact: true }).fill('carol');
    await page.getByLabel('Display name', { exact: true }).fill('Carol Counsel');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByText('User carol is added.').waitFor();
    assert.match(await page.locator('#onetime').textContent(), /\S{10,}/);
    await shot('admin-users');
    await page.getByRole('button', { name: 'Disable carol' }).click();
    await page.getByText(/The user is disabled; their sessions were ended/).waitFor();
    const users = await apiGet(page, '/api/v1/users');
    assert.equal(users.body.users.find((u) => u.username === 'carol').disabled, true);
  });

  test('matters: add, close, CSV import with preview and per-row errors', async () => {
    await page.goto(`${BASE}/admin/matters`);
    await page.getByLabel('Number').fill('2026-030');
    await page.getByLabel('Client', { exact: true }).fill('Baker LLC');
    await page.getByLabel('Matter name').fill('Baker merger');
    await page.getByRole('button', { name: 'Add matter' }).click();
    await page.getByText('The matter is added.').waitFor();
    await page.getByRole('button', { name: 'Close 2026-030' }).click();
    await page.getByText('The matter is closed.').waitFor();
    await page.getByLabel('CSV file').setInputFiles({
      name: 'matters.csv', mimeType: 'text/csv',
      buffer: Buffer.from('number,client,name,status,litigation\n2026-040,Delta Inc,Delta v. Echo,open,yes\n2026-014,Dup,Already there\n2026-041,,No client\n'),
    });
    await page.getByRole('button', { name: 'Preview import' }).click();
    const prev = page.locator('#import-preview');
    await prev.waitFor();
    assert.match(await prev.textContent(), /1\s*row\(s\) ready to import,\s*2\s*with problems/);
    assert.match(await prev.textContent(), /matter number 2026-014 already exists/);
    assert.match(await prev.textContent(), /client is empty/);
    await shot('admin-import-preview');
    await a11y('admin-import-preview');
    await page.getByRole('button', { name: 'Import 1 valid row(s)' }).click();
    await page.getByText('Imported 1 matter(s); 2 row(s) not imported.').waitFor();
    await page.getByRole('link', { name: 'Edit 2026-021' }).click();
    assert.match(await page.title(), /^Edit matter 2026-021/);
    await a11y('admin-matter-edit');
    await shot('admin-matter-edit');
    await page.getByLabel('Matter name').fill('Acme lease review and renewal');
    await page.getByRole('button', { name: 'Save matter' }).click();
    await page.getByText('The matter is saved.').waitFor();
    const m = await apiGet(page, '/api/v1/matters?q=2026-040');
    assert.equal(m.body.matters.length, 1);
    assert.equal(m.body.matters[0].litigation, true);
    await page.goto(`${BASE}/admin/matters`);
    await shot('admin-matters');
  });

  test('audit trail: filter by user and action, the edit diff shown, the CSV link keeps the filter', async () => {
    await page.goto(`${BASE}/admin/audit`);
    await a11y('admin-audit');
    await page.getByLabel('User').fill('alice');
    await page.getByLabel('Action').selectOption('entry.update');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\/admin\/audit\?/);
    assert.ok(await page.locator('tbody tr').count() >= 1, 'alice edited an entry');
    assert.ok(await page.locator('tbody ins').count() >= 1, 'the edit shows what changed');
    const href = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
    assert.match(href, /^\/api\/v1\/audit\.csv\?action=entry\.update&user=alice$/);
    const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
    assert.match(csv, /^id,at,actor,action/);
    await a11y('admin-audit-filtered');
    await shot('admin-audit');
  });

  test('directory: the admin check page runs the step-by-step check and is accessible', async () => {
    await page.goto(`${BASE}/admin/directory`);
    assert.match(await page.title(), /^Directory/);
    await page.getByText('Directory sign-in is off').waitFor();
    await a11y('admin-directory');
    await page.getByLabel(/Username to look up/).fill('alice');
    await page.getByRole('button', { name: 'Check the configuration' }).click();
    await page.locator('#dir-steps').getByText('directory sign-in is off').waitFor();
    await a11y('admin-directory-checked');
    await shot('admin-directory');
  });

  test('deleted items: the admin page lists soft-deleted items and is accessible', async () => {
    await page.goto(`${BASE}/admin/deleted`);
    assert.match(await page.title(), /^Deleted items/);
    await page.getByRole('heading', { name: 'Deleted items' }).waitFor();
    await shot('admin-deleted');
    await a11y('admin-deleted');
  });

  test('firm settings: the firm name shows in the header', async () => {
    await page.goto(`${BASE}/admin/settings`);
    await page.getByLabel('Firm name').fill('Hale & Pike LLP');
    await page.getByLabel('Keep closed matters for (days)').fill('30');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('the retention window must be 90 to 1825 days').waitFor();
    await page.goto(`${BASE}/admin/settings`);
    await page.getByLabel('Firm name').fill('Hale & Pike LLP');
    await page.getByLabel('Keep closed matters for (days)').fill('730');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    assert.equal(await page.getByLabel('Keep closed matters for (days)').inputValue(), '730');
    assert.equal(await page.getByLabel('Delete automatically').isChecked(), false);
    assert.match(await page.locator('.brand').textContent(), /Hale & Pike LLP/);
    assert.match(await page.title(), /Hale & Pike LLP/);
    await shot('admin-settings');
    await a11y('admin-settings');
    await logout();
  });

  test('backups: red until a drill ran, "Back up now" lists the file', async () => {
    await login('admin', env('ADMIN_PASSWORD'));
    await page.goto(`${BASE}/admin/backups`);
    assert.match(await page.title(), /^Backups/);
    await page.getByRole('alert').filter({ hasText: 'No restore drill has run yet' }).waitFor();
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.getByText('The backup has started.').waitFor();
    for (let i = 0; i < 50 && !(await page.locator('td code', { hasText: /^dictum-.*\.backup$/ }).count()); i++) {
      await page.waitForTimeout(200);
      await page.goto(`${BASE}/admin/backups`);
    }
    await page.locator('td code', { hasText: /^dictum-.*\.backup$/ }).first().waitFor();
    await a11y('admin-backups');
    await shot('admin-backups');
    await logout();
  });

  test('e-billing: client profile with a refused save, code list, timekeeper fields; pages pass axe', async () => {
    await login('admin', env('ADMIN_PASSWORD'));
    await page.goto(`${BASE}/admin/clients`);
    assert.match(await page.title(), /^Clients/);
    await a11y('admin-clients');
    await page.getByRole('link', { name: 'Acme Corp' }).click();
    assert.match(await page.title(), /^Client Acme Corp/);
    await page.getByLabel('This client receives invoices through an e-billing platform').check();
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText('Not saved: ledes_client_id: is missing').waitFor();
    await a11y('admin-client-refused');
    await page.getByLabel('LEDES client ID').fill('ACME01');
    await page.getByLabel('Required codes on every fee line').selectOption('task');
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.getByText("The client's e-billing profile is saved.").waitFor();
    await page.getByLabel('Or paste the CSV').fill('kind,code,description\ntask,B100,Due diligence\n');
    await page.getByRole('button', { name: 'Import codes' }).click();
    await page.getByText("The client's code list is imported.").waitFor();
    assert.match(await page.locator('table caption').last().textContent(), /1 task and 0 activity codes/);
    await shot('admin-client');
    await a11y('admin-client');
    await page.goto(`${BASE}/admin/users`);
    await page.getByRole('link', { name: 'E-billing fields of alice' }).click();
    await page.getByLabel('First name').fill('Alice');
    await page.getByLabel('Last name').fill('Adams');
    await page.getByLabel('Classification').selectOption('PT');
    await page.getByLabel('Approved rate for Acme Corp').fill('375');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText("The timekeeper's e-billing fields are saved.").waitFor();
    await shot('admin-timekeeper');
    await a11y('admin-timekeeper');
    const users = await apiGet(page, '/api/v1/users');
    const alice = users.body.users.find((u) => u.username === 'alice');
    assert.equal(alice.last_name, 'Adams');
    assert.equal(alice.client_rates[0].rate_cents, 37500);
    await logout();
  });

  test('two-factor: admin enrols with a code, then logs in with a recovery code', async () => {
    await login('admin', env('ADMIN_PASSWORD'));
    await page.goto(`${BASE}/2fa`);
    assert.match(await page.title(), /^Two-factor authentication/);
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await page.locator('#tfa-qr[src^="data:image/png;base64,"]').waitFor();
    const secret = (await page.locator('#tfa-secret').textContent()).trim();
    await page.getByLabel('6-digit code').fill(totp(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByText('Two-factor authentication is on.').waitFor();
    const codes = await page.locator('#tfa-codes li').allTextContents();
    assert.equal(codes.length, 10);
    await shot('twofa-codes');
    await a11y('twofa');
    await logout();
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(env('ADMIN_PASSWORD'));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('Your account uses two-factor authentication').waitFor();
    await shot('login-2fa');
    await page.getByLabel('Password').fill(env('ADMIN_PASSWORD'));
    await page.getByLabel(/Authentication code/).fill(codes[0]);
    await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: 'Log in' }).click()]);
    await logout();
  });

  test('no CSP violations or script errors on any page', () => {
    assert.deepEqual(problems, []);
  });
});
