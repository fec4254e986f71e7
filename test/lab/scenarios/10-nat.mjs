// Scenario 1 (issue 4): NAT. The director is configured by the WIZARD in a terminal (tmux in the
// guest, keys typed one at a time: issue 5's lab proof), answering as the seed's director, with a
// real apply; the other hosts by `lvs-setup apply` from examples/seed-nat.yaml (wrr, persistence
// 120). The lab file the wizard saved must describe the same director and service as the seed.
// 200 requests through the VIP succeed and, persistent, all land on one real server. Then the director alone is re-applied with the lab-only
// variants test/lab/labs/nat-rr.yaml (rr, no persistence: the two pages alternate) and
// nat-wrr31.yaml (wrr, weights 3:1: web1 answers 75% ± 5%).
import { allDone, applyAll, curlLoop, LVS_SETUP, tally } from '../lib.mjs';
import { natLab } from '../labs.mjs';
import { seedNatDirector, driver } from '../../helpers/wizard-drive.mjs';

/** The seed's NAT director through the wizard, in tmux in the guest, then a real apply. */
async function directorByWizard(lab, t) {
  const tmux = (...a) => lab.exec('lvs', ['tmux', ...a], { timeoutMs: 30000, check: true });
  const term = {
    capture: async () => (await tmux('capture-pane', '-p', '-t', 'wiz')).stdout,
    send: async (...k) => void (await tmux('send-keys', '-t', 'wiz', ...k)),
    sendLiteral: async (text) => void (await tmux('send-keys', '-t', 'wiz', '-l', text)),
  };
  await lab.exec('lvs', ['mkdir', '-p', '/root/wizard'], { check: true });
  const t0 = Date.now();
  await tmux(
    'new-session',
    '-d',
    '-x',
    '120',
    '-y',
    '40',
    '-s',
    'wiz',
    '-c',
    '/root/wizard',
    `env -u CI TERM=xterm-256color node ${LVS_SETUP}; echo __EXIT__=$?; sleep 3600`,
  );
  const opts = { timeoutMs: 120000, pollMs: 150 };
  const d = driver(term, opts);
  try {
    // The Detect screen is the wizard's first wait: node, the bundle and the host's facts, in a
    // TCG guest sharing the host's cores with four others that install packages meanwhile
    // (measured: over 180 s on a slower CI machine).
    await d.waitFor('Enter continue', 600000);
    t.figure('wizard: Detect screen after s', ((Date.now() - t0) / 1000).toFixed(1));
    const review = await seedNatDirector(term, { ...opts, planMs: 300000 });
    t.figure(
      'wizard: answers typed, plan',
      `${/Plan: .*?\./.exec(review)?.[0]} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
    await d.keys('Save the lab file as: seed-nat.yaml', 's');
    await d.keys('Saved seed-nat.yaml', 'Enter');
    await d.keys('Apply these changes to this host now? (y/N)', 'a');
    const a0 = Date.now();
    await term.send('y');
    const recap = await d.waitFor(/ok=\d+ changed=\d+ failed=\d+[\s\S]*Enter continue/, 1200000);
    t.figure('wizard: apply s', ((Date.now() - a0) / 1000).toFixed(1));
    const line = /ok=\d+ changed=\d+ failed=(\d+)/.exec(recap);
    t.assert(line && line[1] === '0', `the wizard's apply failed:\n${recap}`);
    await d.keys('is configured', 'Enter');
    // the Done screen runs the doctor's checks for this host (issue 7)
    const done = await d.waitFor(/Checks: /, 300000);
    t.figure('wizard: Done screen', /Checks: [^\n]*/.exec(done)?.[0] ?? '?');
    t.log(done.trim().split('\n').slice(0, 16).join('\n'));
    await d.keys('__EXIT__=0', 'q');
  } catch (err) {
    err.message += `\n--- the wizard's screen ---\n${await term.capture().catch(() => '')}`;
    throw err;
  } finally {
    await lab.exec('lvs', ['tmux', 'kill-session', '-t', 'wiz']);
  }
  // The lab file the wizard saved: the seed's service and director.
  const saved = (await lab.readFile('lvs', '/root/wizard/seed-nat.yaml')).toString();
  const want = [
    /vip: 192\.168\.91\.141/,
    /scheduler: wrr/,
    /persistence: 120/,
    /mode: nat/,
    /address: 192\.168\.91\.141\/24/,
    /address: 192\.168\.81\.141\/24/,
    /address: 192\.168\.81\.142\/24|192\.168\.81\.142/,
    /192\.168\.81\.143/,
  ];
  const missing = want.filter((re) => !re.test(saved));
  t.assert(missing.length === 0, `the saved lab file lacks ${missing.join(', ')}:\n${saved}`);
  t.figure('wizard: saved lab file', `${saved.length} bytes, the seed's director and service`);
}

const VIP = 'http://192.168.91.141/';
const PAGE1 = 'server 192.168.81.142';
const PAGE2 = 'server 192.168.81.143';

export default {
  name: 'NAT: seed-nat applied on every host; rr alternates; wrr 3:1 splits 75%',
  lab: natLab,
  timeoutMs: 25 * 60 * 1000,

  async run(lab, t) {
    await allDone([
      directorByWizard(lab, t),
      applyAll(lab, t, 'examples/seed-nat.yaml', ['web1', 'web2', 'nfs', 'client']),
    ]);
    // the wizard's director is what `apply` of the seed would make: nothing left to change
    const again = await applyAll(lab, t, 'examples/seed-nat.yaml', ['lvs'], {
      label: 're-apply seed-nat (after the wizard)',
    });
    const same = again.lvs.stdout.includes('No changes');
    t.figure(
      'seed-nat re-apply after the wizard',
      same
        ? 'No changes'
        : again.lvs.stdout
            .split('\n')
            .filter((l) => /to change|changed=/.test(l))
            .join(' | '),
    );
    t.assert(same, `the wizard's director differs from seed-nat's:\n${again.lvs.stdout}`);
    const okBody = (b) => b === PAGE1 || b === PAGE2;

    // Each loop from its own client ports (below the default range the other scenarios use):
    // see curlLoop's localPorts.
    const p = await curlLoop(lab, 'client', VIP, 200, { okBody, localPorts: [17000, 21999] });
    const pt = tally(p.bodies);
    t.figure('seed-nat (wrr, persistence 120) ok/total', `${p.ok}/${p.total}`);
    t.figure('seed-nat answers', JSON.stringify(pt));
    t.assert(p.ok === 200, `seed-nat: only ${p.ok}/200 requests succeeded: ${JSON.stringify(pt)}`);
    t.assert(
      Object.keys(pt).length === 1,
      'persistence 120: one client should stick to one server',
    );

    await applyAll(lab, t, 'test/lab/labs/nat-rr.yaml', ['lvs'], { label: 'apply rr' });
    const r = await curlLoop(lab, 'client', VIP, 200, { okBody, localPorts: [22000, 26999] });
    const rt = tally(r.bodies);
    let repeats = 0;
    for (let i = 1; i < r.bodies.length; i++) if (r.bodies[i] === r.bodies[i - 1]) repeats++;
    t.figure('rr ok/total', `${r.ok}/${r.total}`);
    t.figure(
      'rr split',
      `web1 ${rt[PAGE1] ?? 0}, web2 ${rt[PAGE2] ?? 0}, same page twice in a row ${repeats}`,
    );
    t.assert(r.ok === 200, `rr: only ${r.ok}/200 requests succeeded: ${JSON.stringify(rt)}`);
    // Not strictly 0 before the loops had their own ports: when the client reused a source port
    // whose IPVS connection entry was still in TIME_WAIT, IPVS sent the new connection to the
    // same server (measured: 3 in 200).
    t.assert(repeats <= 10, `rr: the pages do not alternate (${repeats} repeats)`);
    t.assert(Math.abs((rt[PAGE1] ?? 0) - 100) <= 10, `rr: split ${JSON.stringify(rt)} is not even`);

    await applyAll(lab, t, 'test/lab/labs/nat-wrr31.yaml', ['lvs'], { label: 'apply wrr 3:1' });
    const w = await curlLoop(lab, 'client', VIP, 200, { okBody, localPorts: [27000, 31999] });
    const wt = tally(w.bodies);
    const share = ((wt[PAGE1] ?? 0) / 200) * 100;
    t.figure('wrr 3:1 ok/total', `${w.ok}/${w.total}`);
    t.figure(
      'wrr 3:1 web1 share',
      `${share.toFixed(1)}% (web1 ${wt[PAGE1] ?? 0}, web2 ${wt[PAGE2] ?? 0})`,
    );
    t.assert(w.ok === 200, `wrr: only ${w.ok}/200 requests succeeded`);
    if (Math.abs(share - 75) > 5) {
      // Seen twice (58.5 % and 64.5 %) while this loop shared client ports with the rr loop
      // before it: the page order then began with rr's alternation. Should it come back, keep
      // what the director had (table, weights, per-server counters, the connection entries, the
      // reuse sysctls) and the order the pages came in.
      const state = await lab.sh(
        'lvs',
        'ipvsadm -Ln --stats; ipvsadm -Ln; sysctl net.ipv4.vs.conn_reuse_mode net.ipv4.vs.conntrack; ' +
          "ipvsadm -Lnc | awk '{print $3}' | sort | uniq -c",
      );
      t.log(state.stdout);
      t.log(
        `order: ${w.bodies.map((b) => (b === PAGE1 ? '1' : b === PAGE2 ? '2' : 'x')).join('')}`,
      );
    }
    t.assert(Math.abs(share - 75) <= 5, `wrr 3:1: web1 got ${share}%, not 75% ± 5%`);
  },
};
