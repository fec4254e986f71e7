// Drives the wizard in a real terminal (tmux) the way a person types: one key or one text at a
// time, each followed by a wait for the screen to show its effect (a fixed pause loses keys).
// Shared by the terminal test on this machine (test/e2e/wizard-pty.test.ts, --dry-run) and the
// real-kernel lab (test/lab/scenarios/10-nat.mjs: the seed's NAT director configured for real).
//
// A terminal is {capture(): Promise<string>, send(...tmuxKeys): Promise<void>,
//                sendLiteral(text): Promise<void>}: tmux on this machine, or tmux in a lab guest.

/** The value on the focused form line (after the label column), without the error mark. */
export function focusedValue(screen) {
  const line = screen.split('\n').find((l) => l.startsWith('› ')) ?? '';
  return line
    .slice(22)
    .replace(/✘.*$/, '')
    .replace(/^\s*e\.g\. .*$/, '') // the placeholder of an empty field
    .trim();
}

/** The NIC whose "Use" line has focus on the network screen. */
export function focusedNic(screen) {
  const lines = screen.split('\n');
  const at = lines.findIndex((l) => /^› Use\b/.test(l));
  for (let i = at; i >= 0; i--) {
    const m = /^(\S+) \((UP|DOWN|UNKNOWN|LOWERLAYERDOWN|DORMANT)/.exec(lines[i] ?? '');
    if (m) return m[1] ?? null;
  }
  return null;
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Wraps a terminal with waits: screen(), waitFor(want), keys(want, ...k), type, replace. */
export function driver(term, { timeoutMs = 60000, pollMs = 20 } = {}) {
  const d = {
    screen: () => term.capture(),
    async waitFor(want, ms = timeoutMs) {
      const deadline = Date.now() + ms;
      for (;;) {
        const s = await term.capture();
        const ok =
          typeof want === 'string'
            ? s.includes(want)
            : want instanceof RegExp
              ? want.test(s)
              : want(s);
        if (ok) return s;
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${String(want)}\n--- screen ---\n${s}`);
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    /** Send keys (tmux key names) and wait until the screen shows `want`. */
    async keys(want, ...keys) {
      await term.send(...keys);
      return d.waitFor(want);
    },
    /** Type literal text and wait until it shows on the focused line. */
    async type(text) {
      if (text === '') return term.capture();
      await term.sendLiteral(text);
      return d.waitFor(new RegExp(`› .*${escapeRe(text)}`));
    },
    /** Clear the focused text field and type `text`. */
    async replace(text) {
      if (focusedValue(await term.capture()) !== '') {
        await term.send('C-u');
        await d.waitFor((s) => focusedValue(s) === '');
      }
      return d.type(text);
    },
  };
  return d;
}

/**
 * From the Detect screen to the Review of examples/seed-nat.yaml's director `lvs`: NAT, VIP
 * 192.168.91.141:80/tcp, wrr, persistence 120, web1 192.168.81.142 and web2 192.168.81.143
 * (weight 1, NIC ens33), ens33 192.168.91.141/24 gw 192.168.91.2 dns 192.168.91.2, 8.8.8.8 and
 * ens37 192.168.81.141/24, firewall disabled. The public NIC is ens33 (else the first shown), the
 * private one ens37 (else the second); other NICs are skipped. Returns the Review screen.
 */
export async function seedNatDirector(term, opts = {}) {
  const t = driver(term, opts);
  const detect = await t.waitFor('Enter continue', opts.firstFrameMs ?? 120000);
  if (!detect.includes('NIC')) throw new Error(`the Detect screen shows no NIC table:\n${detect}`);
  await t.keys('This host is', 'Enter');
  await t.keys('› Directors', 'Enter');
  await t.keys('› Its name in the lab', 'Enter');
  await t.replace('lvs');
  await t.keys('› Lab name', 'Enter');
  await t.replace('seed-nat');
  await t.keys('Forwarding mode', 'Enter');
  let s = await t.screen();
  if (!/\(•\) nat/.test(s)) s = await t.keys('(•) nat', 'Up');
  if (!s.includes('gateway = DIP')) throw new Error(`NAT is not explained:\n${s}`);
  await t.keys('› Service name', 'Enter');
  await t.keys('› VIP', 'Enter');
  await t.replace('192.168.91.141');
  await t.keys('› Port', 'Enter');
  await t.keys('› Protocol', 'Enter');
  await t.keys('› Scheduler', 'Enter');
  await t.keys('(•) lc ', 'Up');
  await t.keys('(•) wrr', 'Up');
  await t.keys('› Persistence', 'Enter');
  await t.replace('120');
  await t.keys('Real servers of web 192.168.91.141:80/tcp (NAT, wrr)', 'Enter');
  await t.keys('Item 1', 'Enter');
  await t.keys('› Name', 'C-u');
  await t.type('web1');
  await t.keys('› Address', 'Enter');
  await t.replace('192.168.81.142');
  await t.keys('› Weight', 'Enter');
  await t.keys('› Its NIC', 'Enter');
  await t.replace('ens33');
  await t.keys('+ add a real server', 'Enter');
  await t.keys('Item 2', 'a');
  await t.keys('› Address', 'Enter');
  await t.waitFor(/› Address\s+192\.168\.81\.143/);
  await t.keys('› Weight', 'Enter');
  await t.keys('› Its NIC', 'Enter');
  await t.keys(/2 web2\s+192\.168\.81\.143\s+1\s+ens33/, 'Enter');
  await t.keys('›  + add', 'Down');
  await t.keys('›  → continue', 'Down');
  s = await t.keys('› Use', 'Enter');

  const names = [...s.matchAll(/^(\S+) \((?:UP|DOWN|UNKNOWN)/gm)].map((m) => m[1] ?? '');
  const pub = names.includes('ens33') ? 'ens33' : names[0];
  const priv = names.includes('ens37') ? 'ens37' : names.find((n) => n !== pub);
  if (!pub || !priv)
    throw new Error(`the wizard needs two NICs here; it shows ${names.join(', ')}`);
  const chosen = (x) => /^› Use\s.*?\(•\) (\w+)/m.exec(x)?.[1];
  for (let guard = 0; guard < 20; guard++) {
    s = await t.screen();
    if (s.includes('› Firewall')) break;
    const nic = focusedNic(s);
    const want = nic === pub || nic === priv ? 'static' : 'skip';
    for (let k = 0; k < 3 && chosen(await t.screen()) !== want; k++) {
      const before = chosen(await t.screen());
      await term.send('Right');
      await t.waitFor((x) => chosen(x) !== before);
    }
    const got = chosen(await t.screen());
    if (got !== want) throw new Error(`${nic}: ${got} chosen, ${want} wanted`);
    if (want === 'skip') {
      await term.send('Enter');
      await t.waitFor((x) => x.includes('› Firewall') || focusedNic(x) !== nic);
      continue;
    }
    await t.keys('› Address', 'Enter');
    await t.replace(nic === pub ? '192.168.91.141/24' : '192.168.81.141/24');
    await t.keys('› Gateway', 'Enter');
    await t.replace(nic === pub ? '192.168.91.2' : '');
    await t.keys('› DNS', 'Enter');
    await t.replace(nic === pub ? '192.168.91.2, 8.8.8.8' : '');
    await t.keys(/› (Use|Firewall)/, 'Enter');
  }
  await t.keys('(•) disable', 'Right');
  s = await t.keys('Topology', 'Enter');
  const topo = 'client ──▶ 192.168.91.141:80/tcp ── lvs (this host) [NAT, wrr, sticky 120 s]';
  if (!s.includes(topo)) throw new Error(`the topology sketch is wrong:\n${s}`);
  return t.waitFor(/Plan: \d+ to change, \d+ already ok\.|No changes\./, opts.planMs ?? 90000);
}
