// Scenario 8 (issue 4): `lvs-setup undo --yes` on the DR director and both real servers: every
// file the journal lists is back byte for byte (sha256 before the first apply vs after undo, or
// absent again), the VIP, the IPVS rules and the sysctls it set are gone. Leaves the hosts as
// they were before scenario 2 (scenario 3 then applies TUN on the same guests).
import { allDone, hashFiles, lvsSetup, shared } from '../lib.mjs';
import { drLab } from '../labs.mjs';
import { SYSCTLS, VIP } from './20-dr.mjs';

export default {
  name: 'Undo: director and real servers back to their files, no VIP, rules or sysctls',
  lab: drLab,
  timeoutMs: 15 * 60 * 1000,

  async run(lab, t) {
    t.assert(shared.dr?.before, 'scenario 2 (20-dr) must run first in this lab');
    const hosts = ['lvs', 'web1', 'web2'];
    const journals = {};
    for (const g of hosts) {
      journals[g] = JSON.parse(
        (await lab.readFile(g, '/var/lib/lvs-setup/journal.json')).toString(),
      );
    }
    const undone = await allDone(hosts.map((g) => lvsSetup(lab, g, ['undo', '--yes'])));
    const problems = [];
    hosts.forEach((g, i) => {
      t.figure(`undo ${g} s`, `${(undone[i].ms / 1000).toFixed(1)} (exit ${undone[i].code})`);
      if (undone[i].code !== 0)
        problems.push(
          `${g}: undo exit ${undone[i].code}: ${undone[i].stdout.slice(-2000)}${undone[i].stderr}`,
        );
    });
    for (const g of hosts) {
      const files = [
        ...new Set(
          journals[g].runs.flatMap((r) =>
            r.entries.filter((e) => e.kind === 'file').map((e) => e.path),
          ),
        ),
      ];
      const before = shared.dr.before[g].hashes;
      const now = await hashFiles(lab, g, files);
      let same = 0;
      for (const f of files) {
        if (before.get(f) === now.get(f)) same++;
        else
          problems.push(
            `${g}: ${f}: ${before.get(f) ?? 'absent'} before apply, ${now.get(f) ?? 'absent'} after undo`,
          );
      }
      t.figure(`${g} files restored`, `${same}/${files.length}`);
      const sys = (await lab.sh(g, SYSCTLS)).stdout;
      if (sys !== shared.dr.before[g].sysctl) problems.push(`${g}: sysctls differ after undo`);
      const addr = (await lab.exec(g, ['ip', '-4', '-o', 'addr'])).stdout;
      if (addr.includes(`${VIP}/`)) problems.push(`${g}: the VIP is still there: ${addr}`);
    }
    const table = await lab.sh('lvs', '[ -e /proc/net/ip_vs ] && ipvsadm -Sn');
    if (table.stdout.trim()) problems.push(`lvs: IPVS rules left: ${table.stdout}`);
    t.assert(problems.length === 0, problems.join('\n'));
  },
};
