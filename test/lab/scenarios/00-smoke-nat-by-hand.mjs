// Smoke: proves the lab infrastructure, not lvs-setup. Three guests (director with ens33+ens37,
// a web server on net81, a client on net91) boot with unconfigured NICs; we configure them by hand
// through the agent, start nginx, build an IPVS NAT service with ipvsadm, and curl the VIP.
import { allDone, curlLoop, ipv4, tally } from '../lib.mjs';
import { smokeLab } from '../labs.mjs';

const VIP = '192.168.91.141';
const RS = '192.168.81.142';

export default {
  name: 'smoke: IPVS NAT by hand (3 guests, 20 requests)',
  lab: smokeLab,
  timeoutMs: 5 * 60 * 1000,

  async run(lab, t) {
    // The NICs are there, named as the lab file says, and carry no address: the product's job.
    for (const [g, devs] of [
      ['lvs', ['ens33', 'ens37']],
      ['web1', ['ens33']],
      ['client', ['ens33']],
    ]) {
      for (const dev of devs) {
        t.assert((await ipv4(lab, g, dev)).length === 0, `${g}/${dev} has an address at boot`);
      }
    }
    const ip = (g, script) => lab.sh(g, `set -e; ${script}`, { timeoutMs: 30000, check: true });
    await allDone([
      ip(
        'lvs',
        'ip addr add 192.168.91.141/24 dev ens33; ip link set ens33 up; ' +
          'ip addr add 192.168.81.141/24 dev ens37; ip link set ens37 up; ' +
          'sysctl -qw net.ipv4.ip_forward=1; modprobe ip_vs; ' +
          `ipvsadm -A -t ${VIP}:80 -s rr; ipvsadm -a -t ${VIP}:80 -r ${RS}:80 -m -w 1`,
      ),
      ip(
        'web1',
        `ip addr add ${RS}/24 dev ens33; ip link set ens33 up; ` +
          'ip route add default via 192.168.81.141; ' +
          `echo "server ${RS}" > /var/www/html/index.html; systemctl start nginx`,
      ),
      ip('client', 'ip addr add 192.168.91.150/24 dev ens33; ip link set ens33 up'),
    ]);
    // Direct reachability first (clearer failure than a VIP timeout).
    const direct = await lab.exec('lvs', ['curl', '-s', '-m', '5', `http://${RS}/`], {
      timeoutMs: 20000,
    });
    t.assert(
      direct.stdout.trim() === `server ${RS}`,
      `director cannot reach ${RS}: ${direct.stderr}`,
    );

    const r = await curlLoop(lab, 'client', `http://${VIP}/`, 20, { okBody: /^server / });
    t.figure('requests ok/total', `${r.ok}/${r.total}`);
    t.figure('answers', JSON.stringify(tally(r.bodies)));
    t.figure('loop seconds', (r.ms / 1000).toFixed(1));
    const stats = await lab.exec('lvs', ['ipvsadm', '-Ln', '--stats'], { check: true });
    t.log(stats.stdout.trim());
    t.assert(r.ok === r.total, `only ${r.ok}/${r.total} requests through the VIP succeeded`);
  },
};
