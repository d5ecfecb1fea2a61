// The web UI's notifications, in the same headless Chromium as e2e.mjs
// (which calls pushTests with its relay, daemons and helpers): the
// service worker registers at the app's root; a push delivered through
// DevTools shows a notification that names the session and says what it
// waits for, a newer one replaces it, and tapping it opens that session;
// turning notifications on without a push service (headless Chromium has
// none) says so and stays off; an iPhone's browser is told to add the app
// to the Home Screen first. The subscription's way through the relay to a
// push service is tested in Rust (relay/tests/push.rs).

const IPHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 '
  + '(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

export async function pushTests({
  test, browser, relay, envIds, phone, waitFor, visible, watch, apiCall, token, shot, log,
}) {
  let ctx = null;
  let page = null;
  let tokensJson = null;
  let tok = null;

  const notifications = () => page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
  });

  await test('notifications: the service worker registers at the root; the switch is off', async () => {
    tokensJson = await phone.evaluate(() => localStorage.getItem('rcd.tokens'));
    tok = await token(phone);
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await ctx.grantPermissions(['notifications'], { origin: relay.url });
    await ctx.addInitScript((t) => { localStorage.setItem('rcd.tokens', t); }, tokensJson);
    page = watch(await ctx.newPage(), 'notify');
    await page.goto(`${relay.url}/`);
    await waitFor('the machine list', () => visible(page, '#list-view'));
    await waitFor('the notifications switch', () => visible(page, '#notify'));
    const scope = await waitFor('the service worker', () => page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return reg.active ? reg.scope : null;
    }));
    if (scope !== `${relay.url}/`) throw new Error(`the worker's scope is ${scope}`);
    if (await page.isChecked('#notify-on')) throw new Error('notifications are on before anyone turned them on');
    const permission = await page.evaluate(() => Notification.permission);
    if (permission !== 'granted') throw new Error(`the permission is ${permission}`);
  });

  await test('notifications: turning them on without a push service says so and stays off', async () => {
    await page.check('#notify-on');
    const said = await waitFor('the failure to be shown', async () => {
      if (!(await visible(page, '#notify-error'))) return null;
      return page.textContent('#notify-error');
    }, 30000);
    if (!/could not subscribe/.test(said)) throw new Error(`it says: ${said}`);
    log(`  the switch says: ${said}`);
    await waitFor('the switch back off and usable', async () => !(await page.isChecked('#notify-on'))
      && !(await page.isDisabled('#notify-on')));
    await shot(page, 'desktop-notify-failed');
    const r = await apiCall(relay, tok, 'GET', '/push/subscription');
    if (r.status !== 200 || r.body.subscribed !== false) throw new Error(`the relay holds: ${JSON.stringify(r)}`);
  });

  await test('notifications: a push shows the session; a newer one replaces it; tapping opens it', async () => {
    const env = envIds.server;
    const made = await apiCall(relay, tok, 'POST', `/environments/${env}/sessions`, { name: 'pushed' });
    if (made.status !== 201) throw new Error(`create pushed: ${JSON.stringify(made)}`);
    const listed = await apiCall(relay, tok, 'GET', '/environments');
    const machine = listed.body.find((e) => e.id === env).machine;

    const cdp = await ctx.newCDPSession(page);
    const regs = new Map();
    const active = new Set();
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      for (const r of registrations) regs.set(r.registrationId, r);
    });
    cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
      for (const v of versions) if (v.status === 'activated') active.add(v.registrationId);
    });
    await cdp.send('ServiceWorker.enable');
    // The registration of the root scope with an activated worker.
    const reg = await waitFor('the registration in DevTools', () => [...regs.values()]
      .find((r) => r.scopeURL === `${relay.url}/` && !r.isDeleted && active.has(r.registrationId)));
    const push = (payload) => cdp.send('ServiceWorker.deliverPushMessage', {
      origin: relay.url, registrationId: reg.registrationId, data: JSON.stringify(payload),
    });

    const base = { env, machine, session: 'pushed', since: '2026-01-01T00:00:00Z' };
    // The worker is active before a push goes to it; on a loaded machine
    // DevTools may still drop the first one, so it is delivered again
    // (the same tag: never two) until it shows.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    let shown = null;
    for (let attempt = 1; !shown; attempt++) {
      await push({ ...base, kind: 'permission' });
      try {
        shown = await waitFor('the notification', async () => {
          const n = await notifications();
          return n.length ? n : null;
        }, 4000);
      } catch (e) {
        if (attempt >= 4) throw e;
      }
    }
    const want = `pushed on ${machine}`;
    if (shown.length !== 1 || shown[0].title !== want || shown[0].body !== 'asks permission') {
      throw new Error(`shown: ${JSON.stringify(shown)}`);
    }
    await push({ ...base, kind: 'notification', message: 'Build finished: 3 warnings' });
    shown = await waitFor('the newer notification', async () => {
      const n = await notifications();
      return n.length === 1 && n[0].body !== 'asks permission' ? n : null;
    });
    if (shown[0].title !== want || shown[0].body !== 'Build finished: 3 warnings') {
      throw new Error(`replaced by: ${JSON.stringify(shown)}`);
    }

    // Tapped, from the list: the worker's own click handler runs.
    await page.evaluate(() => { location.hash = ''; });
    await waitFor('the list', () => visible(page, '#list-view'));
    const sw = ctx.serviceWorkers().find((w) => w.url() === `${relay.url}/sw.js`)
      || await ctx.waitForEvent('serviceworker');
    await sw.evaluate(async () => {
      const [n] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n }));
    });
    await waitFor('the session', async () => (await visible(page, '#term-view'))
      && (await page.textContent('#term-name')) === 'pushed');
    const hash = await page.evaluate(() => location.hash);
    if (hash !== `#/s/${env}/pushed`) throw new Error(`opened ${hash}`);
    await waitFor('the notification closed', async () => (await notifications()).length === 0);
    await cdp.detach();
    await apiCall(relay, tok, 'DELETE', `/environments/${env}/sessions/pushed`);
  });

  await test('notifications: an iPhone browser is told to add rcd to the Home Screen', async () => {
    const ios = await browser.newContext({ userAgent: IPHONE_UA, viewport: { width: 390, height: 844 }, isMobile: true });
    await ios.addInitScript((t) => { localStorage.setItem('rcd.tokens', t); }, tokensJson);
    const p = watch(await ios.newPage(), 'iphone');
    await p.goto(`${relay.url}/`);
    await waitFor('the note', async () => (await visible(p, '#notify-note'))
      && /Home Screen/.test(await p.textContent('#notify-note')));
    if (!(await p.isDisabled('#notify-on'))) throw new Error('the switch is usable where pushes cannot arrive');
    await p.evaluate(() => document.getElementById('notify').scrollIntoView());
    await shot(p, 'phone-notify-ios');
    await ios.close();
    await ctx.close();
  });
}
