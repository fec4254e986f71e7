// Scenario 6 (issue 4): on the DR lab after scenario 2, a second apply on every host reports no
// change, and the IPVS table, nat rules, addresses and sysctls are identical before and after.
import { applyAll, hostState, lineDiff, NO_CHANGES } from '../lib.mjs';
import { drLab } from '../labs.mjs';
import { DR_HOSTS } from './20-dr.mjs';

export default {
  name: 'Idempotent: a second apply on every DR host changes nothing',
  lab: drLab,
  timeoutMs: 20 * 60 * 1000,

  async run(lab, t) {
    const before = {};
    for (const g of DR_HOSTS) before[g] = await hostState(lab, g);
    const res = await applyAll(lab, t, 'examples/seed-dr.yaml', DR_HOSTS, { label: 're-apply' });
    const problems = [];
    for (const g of DR_HOSTS) {
      if (!res[g].stdout.includes(NO_CHANGES)) {
        const changed = res[g].stdout
          .split('\n')
          .filter((l) => /changed|^\s+\$ |^\s+write /.test(l));
        problems.push(`${g}: the second apply changed something:\n${changed.join('\n')}`);
      }
      const after = await hostState(lab, g);
      if (after !== before[g])
        problems.push(`${g}: state differs:\n${lineDiff(before[g], after).join('\n')}`);
    }
    t.figure(
      'hosts reporting "No changes"',
      DR_HOSTS.filter((g) => res[g].stdout.includes(NO_CHANGES)).length + `/${DR_HOSTS.length}`,
    );
    t.assert(problems.length === 0, problems.join('\n\n'));
  },
};
