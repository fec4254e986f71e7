// Issue 7 in the real kernel: SIGKILL during a director apply, then a re-run, leaves the same
// `ipvsadm -Sn`, `iptables -S`, nat rules and addresses as the uninterrupted apply of scenario 3
// (24-tun), and traffic flows. The director is first undone (back to a fresh VM's state), so the
// killed apply has real work to do; it is killed once the log shows the sysctl steps starting
// (network and modules done, the VIP and the IPVS table not yet): the re-run has to finish it.
import { curlLoop, lineDiff, lvsSetup, shared, waitFor } from '../lib.mjs';
import { drLab } from '../labs.mjs';
import { PAGES, VIP } from './20-dr.mjs';
import { directorState } from './24-tun.mjs';

const LOG = '/var/lib/lvs-setup/lvs-setup.log';
const APPLY = ['apply', '--lab', 'examples/tun.yaml', '--host', 'lvs', '--yes'];

export default {
  name: 'SIGKILL during a director apply, re-run: same table, rules and addresses as uninterrupted',
  lab: drLab,
  timeoutMs: 15 * 60 * 1000,

  async run(lab, t) {
    t.assert(shared.tun?.lvsState, 'scenario 3 (24-tun) must run first in this lab');
    const u = await lvsSetup(lab, 'lvs', ['undo', '--yes']);
    t.assert(u.code === 0, `undo before the kill failed (exit ${u.code}): ${u.stdout}${u.stderr}`);
    const empty = await lab.sh('lvs', 'ipvsadm -Sn');
    t.assert(!empty.stdout.trim(), `undo left rules: ${empty.stdout}`);

    const lines0 = (await lab.sh('lvs', `wc -l < ${LOG}`)).stdout.trim();
    const running = lvsSetup(lab, 'lvs', APPLY);
    // the log gets one line per step as it starts: kill at the first sysctl step (earlier
    // steps done, later ones not started, that one possibly half-done)
    const at = await waitFor(
      'the killed apply to reach the sysctl steps',
      async () => {
        const r = await lab.sh(
          'lvs',
          `tail -n +${Number(lines0) + 1} ${LOG} | grep -m1 '\\[sysctl:'`,
        );
        return r.stdout.trim();
      },
      { timeoutMs: 600000, intervalMs: 200 },
    );
    await lab.sh('lvs', "pkill -KILL -f 'lvs-setup.js apply'");
    const killed = await running;
    t.figure(
      'killed apply',
      `exit ${killed.code} after ${(killed.ms / 1000).toFixed(1)} s at: ${at.value}`,
    );
    t.assert(killed.code !== 0, 'the apply finished before it was killed');
    const mid = await directorState(lab);
    t.figure('state when killed equals the end state', String(mid === shared.tun.lvsState));

    const again = await lvsSetup(lab, 'lvs', APPLY);
    t.figure('re-run', `exit ${again.code} in ${(again.ms / 1000).toFixed(1)} s`);
    t.assert(again.code === 0, `the re-run failed: ${again.stdout.slice(-3000)}${again.stderr}`);
    const end = await directorState(lab);
    const diff = lineDiff(shared.tun.lvsState, end);
    t.assert(diff.length === 0, `after kill + re-run the director differs:\n${diff.join('\n')}`);
    t.figure('ipvsadm -Sn, iptables -S, nat, addresses', 'identical to the uninterrupted apply');

    const r = await curlLoop(lab, 'client', `http://${VIP}/`, 50, {
      okBody: (b) => PAGES.includes(b),
    });
    t.figure('requests ok/total', `${r.ok}/${r.total}`);
    t.assert(r.ok === 50, `only ${r.ok}/50 requests succeeded after the re-run`);
  },
};
