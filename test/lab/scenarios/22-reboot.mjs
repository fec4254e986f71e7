// Scenario 7 (issue 4): reboot the DR director and the real server web1 (persistent disks): the
// IPVS rules, the VIPs, the sysctls and nginx come back by themselves and requests succeed.
import { allDone, curlLoop, hostState, lineDiff, waitFor } from '../lib.mjs';
import { drLab } from '../labs.mjs';
import { PAGES, VIP } from './20-dr.mjs';

export default {
  name: 'Reboot: director and a DR real server come back configured',
  lab: drLab,
  timeoutMs: 15 * 60 * 1000,

  async run(lab, t) {
    const hosts = ['lvs', 'web1'];
    const before = {};
    for (const g of hosts) before[g] = await hostState(lab, g);
    const boots = await allDone(hosts.map((g) => lab.reboot(g)));
    hosts.forEach((g, i) => t.figure(`${g} reboot s`, boots[i].bootS.toFixed(1)));
    const problems = [];
    for (const g of hosts) {
      // networkd and the unit that restores the table may still be settling right after boot
      let after = '';
      try {
        await waitFor(`${g} state`, async () => (after = await hostState(lab, g)) === before[g], {
          timeoutMs: 60000,
          intervalMs: 3000,
        });
      } catch {
        problems.push(`${g}: after reboot:\n${lineDiff(before[g], after).join('\n')}`);
      }
    }
    const nginx = await lab.exec('web1', ['systemctl', 'is-active', 'nginx']);
    if (nginx.stdout.trim() !== 'active') problems.push(`web1: nginx is ${nginx.stdout.trim()}`);
    const r = await curlLoop(lab, 'client', `http://${VIP}/`, 100, {
      okBody: (b) => PAGES.includes(b),
    });
    t.figure('requests ok/total after reboot', `${r.ok}/${r.total}`);
    if (r.ok !== r.total)
      problems.push(`only ${r.ok}/${r.total} requests succeeded after the reboot`);
    t.assert(problems.length === 0, problems.join('\n'));
  },
};
