// Scenario 1 (issue 4): NAT. Every host is configured by `lvs-setup apply` from
// examples/seed-nat.yaml (wrr, persistence 120): 200 requests through the VIP succeed and,
// persistent, all land on one real server. Then the director alone is re-applied with the lab-only
// variants test/lab/labs/nat-rr.yaml (rr, no persistence: the two pages alternate) and
// nat-wrr31.yaml (wrr, weights 3:1: web1 answers 75% ± 5%).
import { applyAll, curlLoop, tally } from '../lib.mjs';
import { natLab } from '../labs.mjs';

const VIP = 'http://192.168.91.141/';
const PAGE1 = 'server 192.168.81.142';
const PAGE2 = 'server 192.168.81.143';

export default {
  name: 'NAT: seed-nat applied on every host; rr alternates; wrr 3:1 splits 75%',
  lab: natLab,
  timeoutMs: 25 * 60 * 1000,

  async run(lab, t) {
    await applyAll(lab, t, 'examples/seed-nat.yaml', ['lvs', 'web1', 'web2', 'nfs', 'client']);
    const okBody = (b) => b === PAGE1 || b === PAGE2;

    const p = await curlLoop(lab, 'client', VIP, 200, { okBody });
    const pt = tally(p.bodies);
    t.figure('seed-nat (wrr, persistence 120) ok/total', `${p.ok}/${p.total}`);
    t.figure('seed-nat answers', JSON.stringify(pt));
    t.assert(p.ok === 200, `seed-nat: only ${p.ok}/200 requests succeeded: ${JSON.stringify(pt)}`);
    t.assert(
      Object.keys(pt).length === 1,
      'persistence 120: one client should stick to one server',
    );

    await applyAll(lab, t, 'test/lab/labs/nat-rr.yaml', ['lvs'], { label: 'apply rr' });
    const r = await curlLoop(lab, 'client', VIP, 200, { okBody });
    const rt = tally(r.bodies);
    let repeats = 0;
    for (let i = 1; i < r.bodies.length; i++) if (r.bodies[i] === r.bodies[i - 1]) repeats++;
    t.figure('rr ok/total', `${r.ok}/${r.total}`);
    t.figure(
      'rr split',
      `web1 ${rt[PAGE1] ?? 0}, web2 ${rt[PAGE2] ?? 0}, same page twice in a row ${repeats}`,
    );
    t.assert(r.ok === 200, `rr: only ${r.ok}/200 requests succeeded: ${JSON.stringify(rt)}`);
    // Not strictly 0: when the client reuses a source port whose IPVS connection entry is still
    // in TIME_WAIT, IPVS sends the new connection to the same server (measured: 3 in 200).
    t.assert(repeats <= 10, `rr: the pages do not alternate (${repeats} repeats)`);
    t.assert(Math.abs((rt[PAGE1] ?? 0) - 100) <= 10, `rr: split ${JSON.stringify(rt)} is not even`);

    await applyAll(lab, t, 'test/lab/labs/nat-wrr31.yaml', ['lvs'], { label: 'apply wrr 3:1' });
    const w = await curlLoop(lab, 'client', VIP, 200, { okBody });
    const wt = tally(w.bodies);
    const share = ((wt[PAGE1] ?? 0) / 200) * 100;
    t.figure('wrr 3:1 ok/total', `${w.ok}/${w.total}`);
    t.figure(
      'wrr 3:1 web1 share',
      `${share.toFixed(1)}% (web1 ${wt[PAGE1] ?? 0}, web2 ${wt[PAGE2] ?? 0})`,
    );
    t.assert(w.ok === 200, `wrr: only ${w.ok}/200 requests succeeded`);
    t.assert(Math.abs(share - 75) <= 5, `wrr 3:1: web1 got ${share}%, not 75% ± 5%`);
  },
};
