// Scenario 3 (issue 4): TUN with examples/tun.yaml on the DR lab's guests after scenario 8 undid
// DR on them (tun.yaml uses the same addresses): the director wraps requests in IPIP, the real
// servers unwrap them on tunl0 and answer the client directly. All requests succeed.
import { applyAll, curlLoop, settledStats, shared, tally } from '../lib.mjs';
import { drLab } from '../labs.mjs';
import { PAGES, VIP } from './20-dr.mjs';

export const directorState = async (lab) =>
  (
    await lab.sh(
      'lvs',
      'echo "## ipvsadm -Sn"; ipvsadm -Sn; echo "## iptables -S"; iptables -S; ' +
        'echo "## iptables -t nat -S"; iptables -t nat -S; echo "## ip -4 addr"; ip -4 -o addr',
      { timeoutMs: 60000, check: true },
    )
  ).stdout;

export default {
  name: 'TUN: tun.yaml after undo; all requests succeed through IPIP',
  lab: drLab,
  timeoutMs: 20 * 60 * 1000,

  async run(lab, t) {
    await applyAll(lab, t, 'examples/tun.yaml', ['lvs', 'web1', 'web2']);
    // what an uninterrupted apply leaves on the director (scenario 26 compares against it)
    shared.tun = { lvsState: await directorState(lab) };
    const r = await curlLoop(lab, 'client', `http://${VIP}/`, 200, {
      okBody: (b) => PAGES.includes(b),
    });
    t.figure('requests ok/total', `${r.ok}/${r.total}`);
    t.figure('split', JSON.stringify(tally(r.bodies)));
    const stats = await settledStats(lab, 'lvs');
    t.log(stats.stdout.trim());
    const tun = await lab.exec('lvs', ['ipvsadm', '-Ln']);
    t.assert(/Tunnel/.test(tun.stdout), 'the director does not forward with Tunnel');
    const rx = await lab.sh('web1', 'ip -s link show tunl0 | sed -n 4p');
    t.figure('web1 tunl0 RX (bytes packets ...)', rx.stdout.trim());
    t.assert(r.ok === 200, `only ${r.ok}/200 requests succeeded through the tunnel`);
  },
};
