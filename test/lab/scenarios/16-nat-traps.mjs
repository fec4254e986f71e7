// Issue 7 in the real kernel, NAT traps, on the NAT lab scenario 1 left working (the director
// on test/lab/labs/nat-wrr31.yaml, the real servers on examples/seed-nat.yaml): each is broken
// by hand, `lvs-setup doctor --json` fails that check with the right fix, the fix is applied,
// doctor passes. The TUN/DR traps are in 25-traps.
import { runTraps } from '../lib.mjs';
import { natLab } from '../labs.mjs';

const DIRECTOR_LAB = 'test/lab/labs/nat-wrr31.yaml';
const RS_LAB = 'examples/seed-nat.yaml';
const DIP = '192.168.81.141';

export const NAT_TRAPS = [
  {
    name: 'forwarding off on the NAT director',
    guest: 'lvs',
    check: 'ip-forward',
    break: 'sysctl -w net.ipv4.ip_forward=0',
    fixMentions: 'net.ipv4.ip_forward=1',
    fix: 'sysctl -w net.ipv4.ip_forward=1',
  },
  {
    name: 'ICMP redirects on',
    guest: 'lvs',
    check: 'send-redirects',
    break: 'sysctl -w net.ipv4.conf.all.send_redirects=1 net.ipv4.conf.ens37.send_redirects=1',
    fixMentions: 'send_redirects=0',
    fix: 'sysctl -w net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.ens37.send_redirects=0',
  },
  {
    name: 'IPVS connections not tracked while iptables NATs',
    guest: 'lvs',
    check: 'vs-conntrack',
    break: 'sysctl -w net.ipv4.vs.conntrack=0',
    fixMentions: 'net.ipv4.vs.conntrack=1',
    fix: 'sysctl -w net.ipv4.vs.conntrack=1',
  },
  {
    name: "real server's gateway is not the DIP",
    guest: 'web1',
    check: 'nat-gateway',
    break: 'ip route replace default via 192.168.81.2 dev ens33',
    fixMentions: `ip route replace default via ${DIP}`,
    fix: `ip route replace default via ${DIP} dev ens33`,
  },
];

export default {
  name: 'NAT traps (issue 7): forwarding, redirects, conntrack, gateway: caught, fixed, passed',
  lab: natLab,
  timeoutMs: 10 * 60 * 1000,

  async run(lab, t) {
    const director = NAT_TRAPS.filter((x) => x.guest === 'lvs');
    const rs = NAT_TRAPS.filter((x) => x.guest !== 'lvs');
    const rows = [
      ...(await runTraps(lab, t, DIRECTOR_LAB, director)),
      ...(await runTraps(lab, t, RS_LAB, rs)),
    ];
    t.figure('traps broken, caught, fixed', `${rows.length}`);
  },
};
