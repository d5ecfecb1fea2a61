// The phone as a terminal, in the phone context of e2e.mjs (390×844,
// touch, a mobile user agent) against the real rcd and rc-relay: typing
// straight into the screen through the events a phone keyboard sends, the
// line box with the key bar, the size following whoever types, copy and
// paste, the swipe into history, and keys waiting through a relay outage.
//
// e2e.mjs calls phoneTests with its pages and helpers; the phone and the
// desktop page both show session web1 of laptop when it does.

/** `t` holds e2e.mjs's test, pages and helpers (see the call there). */
export async function phoneTests(t) {
  const {
    test, phone, desk, phoneCtx, relay, envIds, waitFor, waitConn, waitScreen, screenText,
    visible, connState, shot, log, occurrences,
  } = t;
  const state = (page) => page.evaluate(() => window.rcdDebug.state());

  /** Fires an event on #direct the way a phone keyboard does. */
  const fire = (page, kind, type, init) => page.$eval('#direct', (el, [k, ty, i]) => {
    const ev = k === 'composition'
      ? new CompositionEvent(ty, { bubbles: true, cancelable: true, ...i })
      : new InputEvent(ty, { bubbles: true, cancelable: true, ...i });
    el.dispatchEvent(ev);
    // What the browser itself does after an uncancelled composition step.
    if (ty === 'beforeinput' && i.inputType === 'insertCompositionText' && !ev.defaultPrevented) {
      el.value = i.data;
      el.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: i.inputType, data: i.data, isComposing: true }));
    }
  }, [kind, type, init]);

  const promptCount = async (page) => occurrences(await screenText(page), 'you@laptop');

  await test('phone: a tap on the screen opens the keyboard, and each key goes as typed', async () => {
    await waitConn(phone, 'connected');
    await phone.tap('#screen');
    await waitFor('the keyboard field focused', () => phone.evaluate(() => document.activeElement.id === 'direct'));
    // Text as the keyboard inserts it (the browser's own insertText).
    await phone.keyboard.insertText('echo d');
    // A word composed (predictive keyboards, IMEs): sent as it grows, and
    // what the keyboard changes in it (x → ect) corrected in the session.
    await fire(phone, 'composition', 'compositionstart', { data: '' });
    await fire(phone, 'composition', 'compositionupdate', { data: 'ir' });
    await fire(phone, 'input', 'beforeinput', { inputType: 'insertCompositionText', data: 'ir' });
    await fire(phone, 'composition', 'compositionupdate', { data: 'irx' });
    await fire(phone, 'input', 'beforeinput', { inputType: 'insertCompositionText', data: 'irx' });
    await fire(phone, 'composition', 'compositionupdate', { data: 'irect' });
    await fire(phone, 'input', 'beforeinput', { inputType: 'insertCompositionText', data: 'irect' });
    await fire(phone, 'composition', 'compositionend', { data: 'irect' });
    // A typo and its Backspace, then the rest and Enter.
    await fire(phone, 'input', 'beforeinput', { inputType: 'insertText', data: 'X' });
    await fire(phone, 'input', 'beforeinput', { inputType: 'deleteContentBackward' });
    await fire(phone, 'input', 'beforeinput', { inputType: 'insertText', data: '-$((2*21))' });
    await fire(phone, 'input', 'beforeinput', { inputType: 'insertLineBreak' });
    await waitScreen(phone, /^direct-42$/m);
    if ((await phone.inputValue('#direct')) !== '') throw new Error('the keyboard field kept text');
    // A hardware-style Backspace and Enter (keydown) work too.
    const before = await promptCount(phone);
    await phone.keyboard.insertText('echo nope');
    for (let i = 0; i < 9; i++) await phone.keyboard.press('Backspace');
    await phone.keyboard.press('Enter');
    await waitFor('an empty command line run', async () => (await promptCount(phone)) > before);
    if (/nope/.test(await screenText(phone))) throw new Error('Backspace did not erase');
  });

  await test('phone: Enter and a digit answer prompts without the line box', async () => {
    await phone.keyboard.insertText("read -n1 -p 'pick 1-3: ' k; echo; echo picked-$k");
    await phone.keyboard.press('Enter');
    await waitScreen(phone, 'pick 1-3:');
    await phone.keyboard.insertText('2');
    await waitScreen(phone, /^picked-2$/m);
    await phone.keyboard.insertText("read -p 'go on? ' a; echo \"ans-[$a]\"");
    await fire(phone, 'input', 'beforeinput', { inputType: 'insertLineBreak' });
    await waitScreen(phone, 'go on?');
    await fire(phone, 'input', 'beforeinput', { inputType: 'insertText', data: 'y' });
    await fire(phone, 'input', 'beforeinput', { inputType: 'insertLineBreak' });
    await waitScreen(phone, 'ans-[y]');
  });

  await test('phone: ⏎ sends the line box (or Enter alone); Tab and arrows send its text first', async () => {
    await phone.fill('#line', 'echo kb-$((3*3))');
    await phone.click('#keys [data-key="enter"]');
    await waitScreen(phone, /^kb-9$/m);
    if ((await phone.inputValue('#line')) !== '') throw new Error('⏎ left the text behind');
    const before = await promptCount(phone);
    await phone.click('#keys [data-key="enter"]');
    await waitFor('a new prompt', async () => (await promptCount(phone)) > before);

    await phone.fill('#line', "IFS= read -rsn3 k; printf 'tab:%q\\n' \"$k\"");
    await phone.press('#line', 'Enter');
    await waitFor('the line sent', async () => (await phone.inputValue('#line')) === '');
    await phone.fill('#line', 'ab');
    await phone.click('#keys [data-key="tab"]');
    await waitScreen(phone, "tab:$'ab\\t'");
    if ((await phone.inputValue('#line')) !== '') throw new Error('Tab left the text behind');

    await phone.fill('#line', "IFS= read -rsn5 k; printf 'arrow:%q\\n' \"$k\"");
    await phone.press('#line', 'Enter');
    await waitFor('the line sent', async () => (await phone.inputValue('#line')) === '');
    await phone.fill('#line', 'xy');
    await phone.click('#keys [data-key="up"]');
    await waitScreen(phone, "arrow:$'xy\\E[A'");
  });

  await test('phone: readable without pinching, and no sideways scrolling', async () => {
    const s = await state(phone);
    if (!s.sizeNote || s.sizeNote.cols !== s.driving[1] || s.sizeNote.rows !== s.driving[0]) {
      throw new Error(`the session did not take the phone's size: ${JSON.stringify(s)}`);
    }
    const font = await phone.$eval('#screen', (e) => parseFloat(getComputedStyle(e).fontSize));
    if (font < 12) throw new Error(`text of ${font} px`);
    const [sw, cw] = await phone.$eval('#screen-wrap', (w) => [w.scrollWidth, w.clientWidth]);
    if (sw > cw) throw new Error(`the screen scrolls sideways: ${sw} > ${cw}`);
    // The name and the branch keep the header's width: the pill is a dot.
    const textShown = await phone.$eval('#conn-text', (e) => e.getClientRects().length > 0);
    if (textShown) throw new Error('the connection pill still takes the header');
    await shot(phone, 'phone-direct');
  });

  await test('the size follows whoever types, and stays when fixed', async () => {
    const p = await state(phone);
    const [pr, pc] = p.driving;
    await phone.tap('#screen');
    await phone.keyboard.insertText('stty size');
    await phone.keyboard.press('Enter');
    await waitScreen(phone, new RegExp(`^${pr} ${pc}$`, 'm'));
    if (!/this device/.test(await phone.textContent('#size-by'))) throw new Error(`phone says: ${await phone.textContent('#size-by')}`);

    // The desktop types: the session takes its size, the phone says so.
    await waitConn(desk, 'connected');
    const d = await state(desk);
    const [dr, dc] = d.driving;
    if (dc === pc) throw new Error(`the desktop drives as narrow a screen as the phone: ${dc}`);
    await desk.fill('#line', 'stty size');
    await desk.press('#line', 'Enter');
    await waitScreen(desk, new RegExp(`^${dr} ${dc}$`, 'm'));
    await waitFor('the phone to say who set the size', async () => /desktop/.test(await phone.textContent('#size-by')));
    const shown = await phone.textContent('#size-label');
    if (shown !== `${dc}×${dr}`) throw new Error(`the phone shows ${shown}`);
    const [sw, cw] = await phone.$eval('#screen-wrap', (w) => [w.scrollWidth, w.clientWidth]);
    if (sw > cw) throw new Error(`a wide session scrolls sideways on the phone: ${sw} > ${cw}`);

    // The phone types again: its size is back.
    await phone.tap('#screen');
    await phone.keyboard.insertText('stty size');
    await phone.keyboard.press('Enter');
    await waitScreen(phone, new RegExp(`^${pr} ${pc}$`, 'm'));
    await waitFor('the desktop to say the phone set it', async () => /phone/.test(await desk.textContent('#size-by')));

    // Fixed: the desktop's input no longer resizes, and both say so.
    await phone.click('#term-menu-btn');
    await phone.click('.menu-item:has-text("Size: keep")');
    await waitFor('the fixed mode shown', async () => (await desk.getAttribute('#size-by', 'data-mode')) === 'fixed');
    await desk.fill('#line', 'echo fixed-$((5*5)); stty size');
    await desk.press('#line', 'Enter');
    await waitScreen(desk, /^fixed-25$/m);
    await waitScreen(desk, new RegExp(`^${pr} ${pc}$`, 'm'));
    if (!/🔒/.test(await desk.textContent('#size-by'))) throw new Error('the desktop does not show the size as fixed');

    // Following again: the next typist takes it.
    await desk.click('#term-menu-btn');
    await desk.click('.menu-item:has-text("Size: follow")');
    await waitFor('the mode back', async () => (await phone.getAttribute('#size-by', 'data-mode')) === 'latest');
    await desk.fill('#line', 'stty size');
    await desk.press('#line', 'Enter');
    await waitScreen(desk, new RegExp(`^${dr} ${dc}$`, 'm'));
    await phone.tap('#screen');
    await phone.keyboard.insertText('clear; stty size');
    await phone.keyboard.press('Enter');
    await waitScreen(phone, new RegExp(`^${pr} ${pc}$`, 'm'));
  });

  await test('phone: copy the visible screen, paste the clipboard', async () => {
    await phoneCtx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: relay.url });
    await phone.keyboard.insertText('echo copy-$((6*6))');
    await phone.keyboard.press('Enter');
    await waitScreen(phone, /^copy-36$/m);
    await phone.click('#term-menu-btn');
    await phone.click('.menu-item:has-text("Copy the visible screen")');
    await waitFor('the clipboard', async () => /^copy-36$/m.test(await phone.evaluate(() => navigator.clipboard.readText())));
    // The screen's text can be selected natively (a long press).
    const sel = await phone.$eval('#screen', (e) => getComputedStyle(e).userSelect);
    if (sel === 'none') throw new Error('the screen cannot be selected');
    await phone.evaluate(() => navigator.clipboard.writeText('echo pasted-$((4*4))'));
    await phone.click('#term-menu-btn');
    await phone.click('.menu-item:has-text("Paste the clipboard")');
    await waitScreen(phone, 'echo pasted-$((4*4))');
    await phone.click('#keys [data-key="enter"]');
    await waitScreen(phone, /^pasted-16$/m);
  });

  await test('phone: a swipe down past the top opens the history, one up at its end goes back', async () => {
    const cdp = await phoneCtx.newCDPSession(phone);
    const swipe = async (x, y0, y1) => {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x, y: y0 }] });
      const steps = 8;
      for (let i = 1; i <= steps; i++) {
        await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x, y: y0 + ((y1 - y0) * i) / steps }] });
      }
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    };
    await phone.$eval('#screen-wrap', (w) => { w.scrollTop = 0; });
    const box = await phone.$eval('#screen-wrap', (w) => { const r = w.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; });
    // Below where a toast shows.
    await swipe(box[0] + box[2] / 2, box[1] + 200, box[1] + 380);
    await waitFor('the transcript', () => visible(phone, '#transcript'));
    await waitFor('its lines', async () => !/loading/.test(await phone.textContent('#transcript-info')));
    await phone.$eval('#transcript-body', (b) => { b.scrollTop = b.scrollHeight; });
    const tb = await phone.$eval('#transcript-body', (w) => { const r = w.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; });
    await swipe(tb[0] + tb[2] / 2, tb[1] + tb[3] - 40, tb[1] + tb[3] - 220);
    await waitFor('the live screen', () => visible(phone, '#screen-wrap'));
    await cdp.detach();
  });

  await test('phone: keys waiting through a relay outage are shown, and cancelled', async () => {
    await waitConn(phone, 'connected');
    await relay.kill();
    await waitFor('the phone to notice', async () => (await connState(phone)) !== 'connected', 10000, 50);
    await phone.tap('#screen');
    await phone.keyboard.insertText('echo never-$((7*7))');
    await phone.keyboard.press('Enter');
    await phone.click('#keys [data-key="ctrl-c"]');
    await waitFor('the keys shown', () => visible(phone, '#queued'));
    const shown = await phone.textContent('#queued-keys');
    if (!shown.includes('echo never-$((7*7))⏎^C')) throw new Error(`the queue reads ${JSON.stringify(shown)}`);
    await shot(phone, 'phone-queued');
    await phone.click('#queued-cancel');
    await waitFor('the queue emptied', async () => !(await visible(phone, '#queued')));
    if ((await state(phone)).pending !== 0) throw new Error('inputs still queued');
    // Typed after the cancel: sent once, with the numbering intact.
    await phone.fill('#line', 'echo kept-$((8*8))');
    await phone.press('#line', 'Enter');
    await waitFor('one input waiting', async () => (await state(phone)).pending === 1);
    await relay.start();
    log(`relay restarted on ${relay.url}`);
    await waitConn(phone, 'connected', 40000);
    await waitScreen(phone, /^kept-64$/m, 15000);
    const text = await screenText(phone);
    if (/never-49/.test(text)) throw new Error(`a cancelled input arrived:\n${text}`);
    if (occurrences(text, 'kept-64') !== 1) throw new Error(`delivered ${occurrences(text, 'kept-64')} times`);
    await waitConn(desk, 'connected', 20000);
    // The machine is listed again under the same id.
    if (!envIds.laptop) throw new Error('no laptop id');
  });
}
