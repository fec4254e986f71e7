// Issue 6 in the real kernel, on the NAT lab (director on test/lab/labs/nat-wrr31.yaml: wrr 3:1,
// no persistence). While a client loop runs, `lvs-setup monitor --once --json` on the director
// shows non-zero CPS on both real servers; then the live monitor, driven through a terminal
// (tmux in the guest), drains web1 with `d` + `y`: the kernel table shows weight 0 and every new
// connection goes to web2. `r` restores the lab weight.
import { curlLoop, LVS_SETUP, tally, waitFor } from '../lib.mjs';
import { natLab } from '../labs.mjs';
import { REPO } from '../harness.mjs';

const VIP = 'http://192.168.91.141/';
const WEB1 = '192.168.81.142';
const WEB2 = '192.168.81.143';
const LAB = 'test/lab/labs/nat-wrr31.yaml';
const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

export default {
  name: 'Monitor: --once --json shows CPS on both real servers; drain from the screen moves traffic',
  lab: natLab,
  timeoutMs: 12 * 60 * 1000,

  async run(lab, t) {
    // 1. a steady client loop (a request every ~0.3 s in a TCG guest: ~45 s), and snapshots
    //    during it (the first is taken after 12 s and takes ~10 s)
    const loop = curlLoop(lab, 'client', VIP, 150, { intervalS: 0.1 });
    // awaited below; should a step before that fail, the lab's teardown rejects it: no crash
    loop.catch(() => {});
    await new Promise((r) => setTimeout(r, 12000));
    let snap = null;
    const cps = await waitFor(
      'non-zero CPS on both real servers in monitor --once --json',
      async () => {
        const r = await lab.exec('lvs', ['node', LVS_SETUP, 'monitor', '--once', '--json'], {
          cwd: REPO,
          timeoutMs: 60000,
        });
        if (r.code !== 0) throw new Error(`monitor --once --json: exit ${r.code}: ${r.stderr}`);
        snap = JSON.parse(r.stdout);
        const svc = snap.services.find((s) => s.address === '192.168.91.141' && s.port === 80);
        const rate = (a) => svc?.destinations.find((d) => d.address === a)?.rates.cps ?? 0;
        const both = [rate(WEB1), rate(WEB2)];
        return both.every((c) => c > 0) ? both : null;
      },
      { timeoutMs: 25000, intervalMs: 1000 },
    );
    t.figure('monitor --once --json CPS web1/web2', cps.value.join(' / '));
    t.figure('monitor source', `${snap.source}, vrrp ${snap.director.vrrp}`);
    const l = await loop;
    t.figure('loop ok/total', `${l.ok}/${l.total} ${JSON.stringify(tally(l.bodies))}`);

    // 2. the live screen in a terminal, as a person would use it
    const cmd = `cd ${shq(REPO)} && env -u CI TERM=xterm-256color node ${shq(LVS_SETUP)} monitor --lab ${LAB}`;
    await lab.exec(
      'lvs',
      ['tmux', 'new-session', '-d', '-s', 'mon', '-x', '160', '-y', '40', cmd],
      {
        check: true,
      },
    );
    const screen = async () =>
      (await lab.exec('lvs', ['tmux', 'capture-pane', '-p', '-t', 'mon'])).stdout;
    const key = (...k) =>
      lab.exec('lvs', ['tmux', 'send-keys', '-t', 'mon', ...k], { check: true });
    try {
      await waitFor('the monitor screen with web1', async () => (await screen()).includes(WEB1), {
        timeoutMs: 60000,
        intervalMs: 500,
      });
      // the selected row by its line number: its numbers change every second, its place does not
      const selection = async () => {
        const lines = (await screen()).split('\n');
        const at = lines.findIndex((x) => x.startsWith('›'));
        return { at, line: lines[at] ?? '' };
      };
      const selected = async () => (await selection()).line;
      for (let i = 0; i < 6 && !(await selected()).includes(WEB1); i++) {
        const before = (await selection()).at;
        await key('Down');
        // one key, then wait for the frame that shows it (a slow guest renders late)
        await waitFor('the selection to move', async () => (await selection()).at !== before, {
          timeoutMs: 20000,
          intervalMs: 300,
        });
      }
      t.assert((await selected()).includes(WEB1), `could not select web1: ${await screen()}`);
      await key('d');
      await waitFor('the drain confirmation', async () => /Drain .*\? y\/n/.test(await screen()), {
        timeoutMs: 15000,
      });
      await key('y');
      const done = await waitFor(
        'weight 0 for web1 in the kernel',
        async () => {
          const r = await lab.exec('lvs', ['ipvsadm', '-Ln']);
          return new RegExp(`${WEB1.replace(/\./g, '\\.')}:80\\s+Masq\\s+0\\s`).test(r.stdout)
            ? r.stdout
            : null;
        },
        { timeoutMs: 30000, intervalMs: 500 },
      );
      t.log(done.value.trim());
      const message = (await screen()).split('\n').find((x) => x.includes('drained')) ?? '';
      t.figure('screen says', message.trim());
      // wait out web1's established connections (none: each request is its own connection)
      const after = await curlLoop(lab, 'client', VIP, 40);
      const at = tally(after.bodies);
      t.figure('after drain', JSON.stringify(at));
      t.assert(
        after.ok === 40 && after.bodies.every((b) => b === `server ${WEB2}`),
        `after draining web1 not every request went to web2: ${JSON.stringify(at)}`,
      );

      // 3. `r` restores the lab weight (3)
      await key('r');
      await waitFor(
        'web1 back to its lab weight 3',
        async () =>
          new RegExp(`${WEB1.replace(/\./g, '\\.')}:80\\s+Masq\\s+3\\s`).test(
            (await lab.exec('lvs', ['ipvsadm', '-Ln'])).stdout,
          ),
        { timeoutMs: 30000, intervalMs: 500 },
      );
      const back = await curlLoop(lab, 'client', VIP, 40);
      t.figure('after restore', JSON.stringify(tally(back.bodies)));
      t.assert(
        back.bodies.some((b) => b === `server ${WEB1}`),
        'web1 got no requests after restore',
      );
      const log = await lab.sh('lvs', 'grep -c "ipvsadm -e" /var/lib/lvs-setup/lvs-setup.log');
      t.figure('monitor actions in the lvs-setup log', log.stdout.trim());
    } finally {
      await lab.exec('lvs', ['tmux', 'kill-session', '-t', 'mon']);
    }
  },
};
