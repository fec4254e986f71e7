// Issue 7 in the real kernel: the classic LVS traps, one at a time, on the TUN lab scenario 3
// (24-tun) left working. For each: break it by hand as people do, `lvs-setup doctor --json` on
// the host that must notice fails that check with the right fix, the fix is applied, doctor
// passes. The fixes restore exactly what was there, so later scenarios see the applied state.
// The NAT-only traps (ip_forward, send_redirects, the real server's gateway) are in 16-nat-traps.
import { runTraps } from '../lib.mjs';
import { drLab } from '../labs.mjs';
import { VIP } from './20-dr.mjs';

const LAB = 'examples/tun.yaml';
const WEB2 = '192.168.91.147';

export const TUN_TRAPS = [
  {
    name: 'real server answers ARP for the VIP',
    guest: 'web1',
    check: 'arp-sysctls',
    break:
      'sysctl -w net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.ens33.arp_ignore=0 ' +
      'net.ipv4.conf.all.arp_announce=0 net.ipv4.conf.ens33.arp_announce=0',
    fixMentions: 'arp_ignore=1',
    fix:
      'sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.ens33.arp_ignore=1 ' +
      'net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.ens33.arp_announce=2',
  },
  {
    name: 'strict reverse-path filter drops tunnelled packets',
    guest: 'web1',
    check: 'rp-filter',
    break:
      'sysctl -n net.ipv4.conf.all.rp_filter net.ipv4.conf.tunl0.rp_filter > /root/rp.saved && ' +
      'sysctl -w net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.tunl0.rp_filter=1',
    fixMentions: 'rp_filter=0',
    fix: 'set -- $(cat /root/rp.saved); sysctl -w net.ipv4.conf.all.rp_filter=$1 net.ipv4.conf.tunl0.rp_filter=$2',
  },
  {
    name: 'VIP missing on tunl0',
    guest: 'web1',
    check: 'vip-loopback',
    break: `ip addr del ${VIP}/32 dev tunl0`,
    fixMentions: `ip addr add ${VIP}/32 dev tunl0`,
    fix: `ip addr add ${VIP}/32 dev tunl0`,
  },
  {
    name: 'web server stopped',
    guest: 'web1',
    check: 'service-listening',
    break: 'systemctl stop nginx',
    fixMentions: 'systemctl enable --now nginx',
    fix: 'systemctl start nginx',
  },
  {
    name: 'second default route',
    guest: 'web1',
    check: 'default-route',
    statuses: ['warn', 'fail'],
    break: 'ip route add default via 192.168.91.147 metric 50',
    fixMentions: 'ip route del default',
    fix: 'ip route del default via 192.168.91.147 metric 50',
  },
  {
    name: 'ARP sysctls not persisted',
    guest: 'web1',
    check: 'sysctl-persisted',
    statuses: ['fail', 'warn'],
    break: 'mv /etc/sysctl.d/90-lvs-setup.conf /root/90-lvs-setup.conf.saved',
    fixMentions: '/etc/sysctl.d/90-lvs-setup.conf',
    fix: 'mv /root/90-lvs-setup.conf.saved /etc/sysctl.d/90-lvs-setup.conf',
  },
  {
    name: 'VIP missing on the director',
    guest: 'lvs',
    check: 'vip-placement',
    break:
      `ip -o -4 addr show dev ens33 | awk '$4 ~ /^${VIP.replace(/\./g, '\\.')}\\// {print $4}' > /root/vip.cidr && ` +
      'test -s /root/vip.cidr && ip addr del "$(cat /root/vip.cidr)" dev ens33',
    fixMentions: `ip addr add ${VIP}/`,
    fix: 'ip addr add "$(cat /root/vip.cidr)" dev ens33 label ens33:0',
  },
  {
    name: 'a real server down, seen from the director',
    guest: 'web2',
    doctorOn: 'lvs',
    fixOn: 'web2',
    check: 'real-servers-reachable',
    break: 'systemctl stop nginx',
    fixMentions: 'systemctl enable --now nginx',
    fix: 'systemctl start nginx',
  },
  {
    name: 'a real server missing from the IPVS table',
    guest: 'lvs',
    check: 'ipvs-table',
    break: `ipvsadm -Sn > /root/ipvs.saved && ipvsadm -d -t ${VIP}:80 -r ${WEB2}:80`,
    fixMentions: 'lvs-setup apply',
    // what the fix does (the saved table back), without reordering the other entries
    fix: `ipvsadm -Sn | grep -q -- '-r ${WEB2}:80' || grep -- '-r ${WEB2}:80' /root/ipvs.saved | sed 's/^-a /ipvsadm -a /' | sh`,
  },
  {
    name: 'rules not restored at boot',
    guest: 'lvs',
    check: 'rules-persisted',
    break: 'systemctl disable ipvsadm 2>&1',
    fixMentions: 'systemctl enable ipvsadm',
    fix: 'systemctl enable ipvsadm 2>&1',
  },
  {
    name: 'keepalived and ipvsadm both own the table',
    guest: 'lvs',
    check: 'table-owner',
    break:
      'mkdir -p /etc/keepalived && ' +
      `printf 'virtual_server ${VIP} 80 {\\n  lb_algo wlc\\n  lb_kind TUN\\n  protocol TCP\\n}\\n' > /etc/keepalived/keepalived.conf && ` +
      'systemctl enable keepalived 2>&1',
    fixMentions: 'AUTO="false"',
    // the other way out of the trap: this lab's table belongs to ipvsadm, so keepalived goes
    fix: 'systemctl disable keepalived 2>&1; rm -f /etc/keepalived/keepalived.conf',
  },
];

export default {
  name: 'Traps (issue 7): 11 classic TUN/DR traps, each failed by doctor with its fix, then passed',
  lab: drLab,
  timeoutMs: 20 * 60 * 1000,

  async run(lab, t) {
    const rows = await runTraps(lab, t, LAB, TUN_TRAPS);
    t.figure('traps broken, caught, fixed', `${rows.length}`);
  },
};
