import { describe, expect, it } from 'vitest';
import * as C from '../../source/doctor/checks.js';
import { runChecks } from '../../source/doctor/checks.js';
import { exampleLab, healthy, keepalivedConfText, runCheck, saveText } from './helpers.js';

const EXAMPLES: Array<[string, string[]]> = [
  ['seed-nat.yaml', ['lvs', 'web1', 'web2', 'nfs', 'client']],
  ['seed-dr.yaml', ['lvs', 'web1', 'web2', 'client']],
  ['seed-dr-keepalived.yaml', ['lvs1', 'lvs2', 'web1', 'web2', 'client']],
  ['tun.yaml', ['lvs', 'web1', 'web2']],
];

describe('a correctly configured host passes every check', () => {
  for (const [lab, hosts] of EXAMPLES) {
    for (const host of hosts) {
      for (const distro of ['rocky9', 'debian12'] as const) {
        it(`${lab} ${host} (${distro})`, () => {
          const h = healthy(lab, host, distro);
          const results = runChecks(h.facts, h.model, h.probes);
          const bad = results.filter((r) => r.status === 'fail' || r.status === 'warn');
          expect(bad).toEqual([]);
          for (const r of results) {
            expect(r.id).toMatch(/^[a-z-]+$/);
            expect(r.fix).toBeNull();
          }
          expect(new Set(results.map((r) => r.id)).size).toBe(results.length);
        });
      }
    }
  }
});

describe('kernel checks', () => {
  const nat = healthy('seed-nat.yaml', 'lvs');
  const dr = healthy('seed-dr.yaml', 'lvs');

  it('ip_vs: pass when loaded, fail when not loaded or missing, skip off directors', () => {
    expect(runCheck(C.ipvsModule, nat).status).toBe('pass');
    const notLoaded = runCheck(C.ipvsModule, nat, (h) => (h.facts.ipvs.loaded = false));
    expect(notLoaded).toMatchObject({ status: 'fail' });
    expect(notLoaded.fix).toContain('modprobe ip_vs');
    expect(notLoaded.fix).toContain('/etc/modules-load.d/');
    expect(notLoaded.fix).toContain('lvs-setup apply --lab');
    const none = runCheck(C.ipvsModule, nat, (h) => {
      h.facts.ipvs.available = false;
      h.facts.ipvs.loaded = false;
    });
    expect(none.status).toBe('fail');
    expect(none.detail).toContain('no ip_vs module');
    expect(runCheck(C.ipvsModule, healthy('seed-nat.yaml', 'web1')).status).toBe('skip');
  });

  it('ip_forward: fails on a NAT director with 0, skipped on a DR director', () => {
    expect(runCheck(C.ipForward, nat).status).toBe('pass');
    const off = runCheck(C.ipForward, nat, (h) => (h.facts.sysctl['net.ipv4.ip_forward'] = '0'));
    expect(off.status).toBe('fail');
    expect(off.fix).toContain('sysctl -w net.ipv4.ip_forward=1');
    expect(off.fix).toContain('/etc/sysctl.d/90-lvs-setup.conf');
    expect(runCheck(C.ipForward, dr).status).toBe('skip');
  });

  it('send_redirects: fails when all or a NIC still sends redirects', () => {
    expect(runCheck(C.sendRedirects, nat).status).toBe('pass');
    const r = runCheck(C.sendRedirects, nat, (h) => {
      h.facts.sysctl['net.ipv4.conf.ens37.send_redirects'] = '1';
    });
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('net.ipv4.conf.ens37.send_redirects = 1');
    expect(r.fix).toContain('sysctl -w net.ipv4.conf.ens37.send_redirects=0');
    expect(r.fix).not.toContain('ens33.send_redirects');
    const all = runCheck(C.sendRedirects, nat, (h) => {
      h.facts.sysctl['net.ipv4.conf.all.send_redirects'] = '1';
    });
    expect(all.fix).toContain('net.ipv4.conf.all.send_redirects=0');
    expect(runCheck(C.sendRedirects, dr).status).toBe('skip');
  });

  it('vs.conntrack: needed where IPVS NAT meets iptables NAT rules', () => {
    expect(runCheck(C.vsConntrack, nat).status).toBe('pass');
    const off = runCheck(
      C.vsConntrack,
      nat,
      (h) => (h.facts.sysctl['net.ipv4.vs.conntrack'] = '0'),
    );
    expect(off.status).toBe('fail');
    expect(off.detail).toContain('MASQUERADE');
    expect(off.fix).toContain('sysctl -w net.ipv4.vs.conntrack=1');
    const absent = runCheck(
      C.vsConntrack,
      nat,
      (h) => delete h.facts.sysctl['net.ipv4.vs.conntrack'],
    );
    expect(absent.status).toBe('fail');
    expect(absent.fix).toContain('modprobe ip_vs');
    const noRules = runCheck(C.vsConntrack, nat, (h) => {
      h.facts.iptablesNat = ['-P POSTROUTING ACCEPT'];
      h.facts.sysctl['net.ipv4.vs.conntrack'] = '0';
    });
    expect(noRules.status).toBe('skip');
    expect(runCheck(C.vsConntrack, dr).status).toBe('skip');
  });

  it('ARP sysctls: all and the NIC; the kernel takes the larger', () => {
    const rs = healthy('seed-dr.yaml', 'web1');
    expect(runCheck(C.arpSysctls, rs).status).toBe('pass');
    // Only lo set, as people often do: ens33 still answers ARP for the VIP.
    const loOnly = runCheck(C.arpSysctls, rs, (h) => {
      for (const n of ['all', 'ens33']) {
        h.facts.sysctl[`net.ipv4.conf.${n}.arp_ignore`] = '0';
        h.facts.sysctl[`net.ipv4.conf.${n}.arp_announce`] = '0';
      }
    });
    expect(loOnly.status).toBe('fail');
    expect(loOnly.fix).toContain('net.ipv4.conf.all.arp_ignore=1');
    expect(loOnly.fix).toContain('net.ipv4.conf.ens33.arp_announce=2');
    // all set, NIC not: max(all, nic) is right: pass.
    const allOnly = runCheck(C.arpSysctls, rs, (h) => {
      h.facts.sysctl['net.ipv4.conf.ens33.arp_ignore'] = '0';
      h.facts.sysctl['net.ipv4.conf.ens33.arp_announce'] = '0';
    });
    expect(allOnly.status).toBe('pass');
    // NIC set, all not: works for ens33 today, not for a NIC added later.
    const nicOnly = runCheck(C.arpSysctls, rs, (h) => {
      h.facts.sysctl['net.ipv4.conf.all.arp_ignore'] = '0';
    });
    expect(nicOnly.status).toBe('warn');
    expect(nicOnly.fix).toContain('net.ipv4.conf.all.arp_ignore=1');
    expect(runCheck(C.arpSysctls, healthy('seed-nat.yaml', 'web1')).status).toBe('skip');
  });

  it('rp_filter: a TUN real server needs it relaxed on tunl0', () => {
    const rs = healthy('tun.yaml', 'web1');
    expect(runCheck(C.rpFilter, rs).status).toBe('pass');
    const strict = runCheck(
      C.rpFilter,
      rs,
      (h) => (h.facts.sysctl['net.ipv4.conf.all.rp_filter'] = '1'),
    );
    expect(strict.status).toBe('fail');
    expect(strict.fix).toContain('net.ipv4.conf.all.rp_filter=0');
    expect(strict.fix).toContain('net.ipv4.conf.tunl0.rp_filter=0');
    const loose = runCheck(
      C.rpFilter,
      rs,
      (h) => (h.facts.sysctl['net.ipv4.conf.all.rp_filter'] = '2'),
    );
    expect(loose.status).toBe('pass');
    const noTunnel = runCheck(C.rpFilter, rs, (h) => {
      h.facts.nics = h.facts.nics.filter((n) => n.name !== 'tunl0');
    });
    expect(noTunnel.status).toBe('fail');
    expect(noTunnel.fix).toContain('modprobe ipip');
    expect(runCheck(C.rpFilter, healthy('seed-dr.yaml', 'web1')).status).toBe('skip');
  });
});

describe('addresses and routes', () => {
  it('VIP /32 on lo for DR, on tunl0 for TUN', () => {
    const dr = healthy('seed-dr.yaml', 'web1');
    expect(runCheck(C.vipLoopback, dr).status).toBe('pass');
    const gone = runCheck(C.vipLoopback, dr, (h) => {
      const lo = h.facts.nics.find((n) => n.name === 'lo');
      if (lo) lo.addresses = lo.addresses.filter((a) => a.address !== '192.168.91.148');
    });
    expect(gone.status).toBe('fail');
    expect(gone.fix).toContain('ip addr add 192.168.91.148/32 dev lo label lo:0');
    const wide = runCheck(C.vipLoopback, dr, (h) => {
      const a = h.facts.nics
        .find((n) => n.name === 'lo')
        ?.addresses.find((x) => x.address === '192.168.91.148');
      if (a) a.prefix = 24;
    });
    expect(wide.status).toBe('fail');
    expect(wide.detail).toContain('/24');
    expect(wide.fix).toContain('ip addr del 192.168.91.148/24 dev lo');

    const tun = healthy('tun.yaml', 'web2');
    expect(runCheck(C.vipLoopback, tun).status).toBe('pass');
    const down = runCheck(C.vipLoopback, tun, (h) => {
      const t = h.facts.nics.find((n) => n.name === 'tunl0');
      if (t) t.state = 'DOWN';
    });
    expect(down.status).toBe('fail');
    expect(down.fix).toContain('ip link set tunl0 up');
    expect(runCheck(C.vipLoopback, healthy('seed-dr.yaml', 'lvs')).status).toBe('skip');
  });

  it('the VIP is on this host exactly when it should be', () => {
    const director = healthy('seed-dr.yaml', 'lvs');
    expect(runCheck(C.vipPlacement, director).status).toBe('pass');
    const noVip = runCheck(C.vipPlacement, director, (h) => {
      for (const n of h.facts.nics)
        n.addresses = n.addresses.filter((a) => a.address !== '192.168.91.148');
    });
    expect(noVip.status).toBe('fail');
    expect(noVip.fix).toContain('ip addr add 192.168.91.148/32 dev ens33 label ens33:0');

    const rs = healthy('seed-dr.yaml', 'web1');
    expect(runCheck(C.vipPlacement, rs).status).toBe('pass');
    const onNic = runCheck(C.vipPlacement, rs, (h) => {
      h.facts.nics
        .find((n) => n.name === 'ens33')
        ?.addresses.push({ address: '192.168.91.148', prefix: 32, family: 'inet' });
    });
    expect(onNic.status).toBe('fail');
    expect(onNic.detail).toContain('answers ARP');
    expect(onNic.fix).toContain('ip addr del 192.168.91.148/32 dev ens33');

    const client = runCheck(C.vipPlacement, healthy('seed-dr.yaml', 'client'), (h) => {
      h.facts.nics
        .find((n) => n.name === 'ens33')
        ?.addresses.push({ address: '192.168.91.148', prefix: 24, family: 'inet' });
    });
    expect(client.status).toBe('fail');

    const backup = healthy('seed-dr-keepalived.yaml', 'lvs2');
    expect(runCheck(C.vipPlacement, backup).status).toBe('pass');
    const stale = runCheck(C.vipPlacement, healthy('seed-dr-keepalived.yaml', 'lvs1'), (h) => {
      h.facts.services.keepalived = { present: true, active: false, enabled: true };
    });
    expect(stale.status).toBe('fail');
    expect(stale.detail).toContain('stale');
    expect(stale.fix).toContain('systemctl enable --now keepalived');
  });

  it("a NAT real server's default gateway is the director's DIP", () => {
    const rs = healthy('seed-nat.yaml', 'web1');
    expect(runCheck(C.natGateway, rs)).toMatchObject({ status: 'pass' });
    const wrong = runCheck(C.natGateway, rs, (h) => {
      h.facts.routes = {
        defaultGateway: '192.168.81.2',
        defaultDev: 'ens33',
        routes: [{ dst: 'default', gateway: '192.168.81.2', dev: 'ens33' }],
      };
    });
    expect(wrong.status).toBe('fail');
    expect(wrong.fix).toContain('ip route replace default via 192.168.81.141');
    expect(wrong.fix).toContain('hosts.web1.interfaces.<nic>.gateway: 192.168.81.141');
    expect(runCheck(C.natGateway, healthy('seed-dr.yaml', 'web1')).status).toBe('skip');
  });

  it('two default routes are a warning', () => {
    const h = healthy('seed-nat.yaml', 'lvs');
    expect(runCheck(C.defaultRoute, h).status).toBe('pass');
    const two = runCheck(C.defaultRoute, h, (x) => {
      x.facts.routes.routes.push({ dst: 'default', gateway: '192.168.81.2', dev: 'ens37' });
    });
    expect(two.status).toBe('warn');
    expect(two.fix).toContain('ip route del default via 192.168.81.2 dev ens37');
  });
});

describe('services', () => {
  it('the service listens on the VIP or 0.0.0.0 (DR) / the RIP (NAT)', () => {
    const dr = healthy('seed-dr.yaml', 'web1');
    expect(runCheck(C.serviceListening, dr).status).toBe('pass');
    const onVip = runCheck(C.serviceListening, dr, (h) => {
      h.probes.listeners = [{ protocol: 'tcp', address: '192.168.91.148', port: 80 }];
    });
    expect(onVip.status).toBe('pass');
    const onRip = runCheck(C.serviceListening, dr, (h) => {
      h.probes.listeners = [{ protocol: 'tcp', address: '192.168.91.146', port: 80 }];
    });
    expect(onRip.status).toBe('fail');
    expect(onRip.detail).toContain('open only on 192.168.91.146');
    const nothing = runCheck(C.serviceListening, dr, (h) => (h.probes.listeners = []));
    expect(nothing.status).toBe('fail');
    expect(nothing.fix).toContain('systemctl enable --now nginx');
    const udpOnly = runCheck(C.serviceListening, dr, (h) => {
      h.probes.listeners = [{ protocol: 'udp', address: '0.0.0.0', port: 80 }];
    });
    expect(udpOnly.status).toBe('fail');
    expect(runCheck(C.serviceListening, dr, (h) => (h.probes.listeners = null)).status).toBe(
      'skip',
    );
    const nat = runCheck(C.serviceListening, healthy('seed-nat.yaml', 'web2'), (h) => {
      h.probes.listeners = [{ protocol: 'tcp', address: '192.168.81.143', port: 80 }];
    });
    expect(nat.status).toBe('pass');
  });

  it('real servers reachable from the director', () => {
    const d = healthy('seed-nat.yaml', 'lvs');
    expect(runCheck(C.realServersReachable, d).status).toBe('pass');
    const refused = runCheck(C.realServersReachable, d, (h) => {
      const r = h.probes.reach?.[1];
      if (r) Object.assign(r, { status: 'refused', detail: 'Connection refused' });
    });
    expect(refused.status).toBe('fail');
    expect(refused.detail).toContain('web2 192.168.81.143:80: refused');
    expect(refused.fix).toContain('on web2:');
    expect(runCheck(C.realServersReachable, healthy('seed-nat.yaml', 'web1')).status).toBe('skip');
  });

  it('the IPVS table matches the lab (one forwarding flag per real server)', () => {
    const d = healthy('seed-nat.yaml', 'lvs');
    expect(runCheck(C.ipvsTable, d).status).toBe('pass');
    // The seed's "-m … -g" on one line: the last flag wins, so the table has DR.
    const mixed = runCheck(C.ipvsTable, d, (h) => {
      const dest = h.facts.ipvs.services?.[0]?.destinations[0];
      if (dest) dest.forward = 'route';
    });
    expect(mixed.status).toBe('fail');
    expect(mixed.detail).toContain('DR (-g), the lab says NAT (-m)');
    expect(mixed.fix).toContain('lvs-setup apply --lab');
    const empty = runCheck(C.ipvsTable, d, (h) => (h.facts.ipvs.services = []));
    expect(empty.status).toBe('fail');
  });
});

describe('who owns the table, and does it survive a reboot', () => {
  it('ipvsadm.service and keepalived must not both own the table', () => {
    const ha = healthy('seed-dr-keepalived.yaml', 'lvs1');
    expect(runCheck(C.tableOwner, ha).status).toBe('pass');
    const both = runCheck(C.tableOwner, ha, (h) => (h.probes.unitEnabled.ipvsadm = 'enabled'));
    expect(both.status).toBe('fail');
    expect(both.fix).toContain('systemctl disable ipvsadm.service');
    const deb = healthy('seed-dr-keepalived.yaml', 'lvs1', 'debian12');
    const debBoth = runCheck(C.tableOwner, deb, (h) => {
      h.probes.unitEnabled.ipvsadm = 'generated';
      h.probes.ipvsadmDefaults = {
        path: '/etc/default/ipvsadm',
        present: true,
        content: 'AUTO="true"\n',
      };
    });
    expect(debBoth.status).toBe('fail');
    expect(debBoth.fix).toContain('AUTO="false"');
    expect(runCheck(C.tableOwner, healthy('seed-nat.yaml', 'lvs')).status).toBe('pass');
  });

  it('rules are saved where the ipvsadm service restores them, and it is enabled', () => {
    const d = healthy('seed-nat.yaml', 'lvs');
    expect(runCheck(C.rulesPersisted, d).status).toBe('pass');
    const noFile = runCheck(C.rulesPersisted, d, (h) => {
      h.probes.ipvsRules = { path: '/etc/sysconfig/ipvsadm', present: false, content: null };
    });
    expect(noFile.status).toBe('fail');
    expect(noFile.fix).toContain('ipvsadm-save -n > /etc/sysconfig/ipvsadm');
    const stale = runCheck(C.rulesPersisted, d, (h) => {
      h.probes.ipvsRules.content =
        '-A -t 192.168.91.141:80 -s wrr -p 120\n-a -t 192.168.91.141:80 -r 192.168.81.142:80 -m -w 1\n';
    });
    expect(stale.status).toBe('fail');
    expect(stale.detail).toContain('192.168.81.143:80 masq');
    const disabled = runCheck(
      C.rulesPersisted,
      d,
      (h) => (h.probes.unitEnabled.ipvsadm = 'disabled'),
    );
    expect(disabled.status).toBe('fail');
    expect(disabled.fix).toContain('systemctl enable ipvsadm');
    const deb = healthy('seed-nat.yaml', 'lvs', 'debian12');
    expect(runCheck(C.rulesPersisted, deb).status).toBe('pass');
    const debNoAuto = runCheck(C.rulesPersisted, deb, (h) => {
      h.probes.ipvsadmDefaults.content = 'AUTO="false"\n';
    });
    expect(debNoAuto.status).toBe('fail');
    expect(debNoAuto.fix).toContain('AUTO="true"');
    const ha = healthy('seed-dr-keepalived.yaml', 'lvs2');
    expect(runCheck(C.rulesPersisted, ha).status).toBe('pass');
    const haOff = runCheck(
      C.rulesPersisted,
      ha,
      (h) => (h.probes.unitEnabled.keepalived = 'disabled'),
    );
    expect(haOff.status).toBe('fail');
    expect(haOff.fix).toContain('systemctl enable keepalived');
    expect(saveText([])).toBe('');
  });

  it('sysctls written to /etc/sysctl.d', () => {
    const d = healthy('seed-nat.yaml', 'lvs');
    expect(runCheck(C.sysctlPersisted, d).status).toBe('pass');
    const lost = runCheck(
      C.sysctlPersisted,
      d,
      (h) => delete h.probes.sysctlPersisted['net.ipv4.ip_forward'],
    );
    expect(lost.status).toBe('warn');
    expect(lost.fix).toContain('net.ipv4.ip_forward = 1');
    expect(runCheck(C.sysctlPersisted, healthy('seed-nat.yaml', 'client')).status).toBe('skip');
  });
});

describe('keepalived', () => {
  const lab = exampleLab('seed-dr-keepalived.yaml');
  const conf =
    (extra: Parameters<typeof keepalivedConfText>[2]) => (h: ReturnType<typeof healthy>) => {
      h.probes.keepalivedConf.content = keepalivedConfText(lab, 'lvs1', extra);
    };
  const master = healthy(lab, 'lvs1');

  it('keepalived installed, enabled and running', () => {
    expect(runCheck(C.keepalivedService, master).status).toBe('pass');
    const stopped = runCheck(C.keepalivedService, master, (h) => {
      h.facts.services.keepalived = { present: true, active: false, enabled: false };
      h.probes.unitEnabled.keepalived = 'disabled';
    });
    expect(stopped.status).toBe('fail');
    expect(stopped.fix).toContain('systemctl enable keepalived');
    expect(stopped.fix).toContain('systemctl start keepalived');
  });

  it('vrrp_strict without accept', () => {
    expect(runCheck(C.vrrpStrict, master).status).toBe('pass');
    const strict = runCheck(C.vrrpStrict, master, conf({ strict: true }));
    expect(strict.status).toBe('fail');
    expect(strict.fix).toContain('delete the line vrrp_strict');
    expect(runCheck(C.vrrpStrict, master, conf({ strict: true, accept: true })).status).toBe(
      'pass',
    );
    const unreadable = runCheck(
      C.vrrpStrict,
      master,
      (h) => (h.probes.keepalivedConf.content = null),
    );
    expect(unreadable.status).toBe('skip');
    expect(unreadable.detail).toContain('root');
  });

  it('auth_pass longer than 8 fails without showing the password', () => {
    expect(runCheck(C.authPassLength, master).status).toBe('pass');
    const long = runCheck(C.authPassLength, master, conf({ pass: 'Sup3rS3cretPw' }));
    expect(long.status).toBe('fail');
    expect(long.detail).toContain('13 characters');
    expect(JSON.stringify(long)).not.toContain('Sup3rS3cretPw');
    expect(long.fix).toContain('vrrp.auth_pass');
  });

  it('nopreempt with state MASTER', () => {
    expect(runCheck(C.nopreemptMaster, master).status).toBe('pass');
    const bad = runCheck(C.nopreemptMaster, master, conf({ nopreempt: true }));
    expect(bad.status).toBe('fail');
    expect(bad.fix).toContain('hosts.lvs1.ha.state: BACKUP');
    expect(
      runCheck(C.nopreemptMaster, master, conf({ nopreempt: true, state: 'BACKUP' })).status,
    ).toBe('pass');
  });

  it('another VRRP router with our virtual_router_id', () => {
    expect(runCheck(C.vrrpRouterId, master).status).toBe('pass');
    const clash = runCheck(C.vrrpRouterId, master, (h) => {
      if (h.probes.vrrp?.status === 'listened')
        h.probes.vrrp.adverts.push(
          { source: '192.168.91.10', vrid: 51, priority: 150 },
          { source: '192.168.91.11', vrid: 1, priority: 100 },
        );
    });
    expect(clash.status).toBe('fail');
    expect(clash.detail).toContain('192.168.91.10');
    expect(clash.fix).toContain('vrrp.router_id: 2');
    const other = runCheck(C.vrrpRouterId, master, (h) => {
      if (h.probes.vrrp?.status === 'listened')
        h.probes.vrrp.adverts.push({ source: '192.168.91.10', vrid: 52, priority: 100 });
    });
    expect(other.status).toBe('pass');
    expect(other.detail).toContain('other ids in use: 52');
    const noTcpdump = runCheck(C.vrrpRouterId, master, (h) => {
      h.probes.vrrp = { status: 'skipped', reason: 'tcpdump is not installed' };
    });
    expect(noTcpdump).toMatchObject({ status: 'skip', detail: 'tcpdump is not installed' });
  });
});

describe('firewall', () => {
  const firewalld = (
    h: ReturnType<typeof healthy>,
    extra: Partial<ReturnType<typeof healthy>['facts']['firewall']> = {},
  ) => {
    h.facts.firewall = {
      kind: 'firewalld',
      running: true,
      zone: 'public',
      services: ['ssh'],
      ports: [],
      protocols: [],
      richRules: [],
      masquerade: false,
      ...extra,
    };
  };

  it('the service port (and masquerading for NAT)', () => {
    const d = healthy('seed-nat.yaml', 'lvs');
    expect(runCheck(C.firewallService, d).status).toBe('pass');
    const closed = runCheck(C.firewallService, d, (h) => firewalld(h));
    expect(closed.status).toBe('fail');
    expect(closed.fix).toContain('firewall-cmd --permanent --add-port=80/tcp');
    expect(closed.fix).toContain('firewall-cmd --permanent --add-masquerade');
    expect(closed.fix).toContain('systemctl disable --now firewalld'); // the lab says disable
    const open = runCheck(C.firewallService, d, (h) =>
      firewalld(h, { services: ['http'], masquerade: true }),
    );
    expect(open.status).toBe('pass');
    const rs = runCheck(C.firewallService, healthy('seed-dr.yaml', 'web1'), (h) =>
      firewalld(h, { ports: ['80/tcp'] }),
    );
    expect(rs.status).toBe('pass');
    const ufw = runCheck(
      C.firewallService,
      d,
      (h) => (h.facts.firewall = { kind: 'ufw', running: true }),
    );
    expect(ufw.status).toBe('warn');
    expect(ufw.fix).toContain('ufw allow 80/tcp');
  });

  it('VRRP on HA directors', () => {
    const ha = healthy('seed-dr-keepalived.yaml', 'lvs2');
    const closed = runCheck(C.firewallVrrp, ha, (h) => firewalld(h, { ports: ['80/tcp'] }));
    expect(closed.status).toBe('fail');
    expect(closed.fix).toContain('firewall-cmd --permanent --add-protocol=vrrp');
    expect(runCheck(C.firewallVrrp, ha, (h) => firewalld(h, { protocols: ['vrrp'] })).status).toBe(
      'pass',
    );
    expect(runCheck(C.firewallVrrp, ha, (h) => firewalld(h, { protocols: ['112'] })).status).toBe(
      'pass',
    );
    const rich = runCheck(C.firewallVrrp, ha, (h) =>
      firewalld(h, { richRules: ['rule protocol value="vrrp" accept'] }),
    );
    expect(rich.status).toBe('pass');
    expect(runCheck(C.firewallVrrp, healthy('seed-dr.yaml', 'lvs')).status).toBe('skip');
  });

  it('NFS on the NFS server', () => {
    const nfs = healthy('seed-nat.yaml', 'nfs');
    const closed = runCheck(C.firewallNfs, nfs, (h) => firewalld(h, { services: ['ssh', 'nfs'] }));
    expect(closed.status).toBe('fail');
    expect(closed.fix).toContain('--add-service=rpc-bind');
    expect(closed.fix).toContain('--add-service=mountd');
    expect(closed.fix).not.toContain('--add-service=nfs\n');
    expect(
      runCheck(C.firewallNfs, nfs, (h) => firewalld(h, { services: ['nfs', 'rpc-bind', 'mountd'] }))
        .status,
    ).toBe('pass');
    expect(runCheck(C.firewallNfs, healthy('seed-nat.yaml', 'web1')).status).toBe('skip');
  });
});

describe('runChecks', () => {
  it('turns a check that throws into a failed result instead of escaping', () => {
    const h = healthy('seed-nat.yaml', 'lvs');
    const broken = { ...h.facts, sysctl: undefined as unknown as Record<string, string> };
    const results = runChecks(broken, h.model, h.probes);
    expect(results.length).toBe(C.CHECKS.length);
    expect(results.some((r) => r.title.includes('internal error'))).toBe(true);
  });
});
