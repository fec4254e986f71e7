import { describe, expect, it } from 'vitest';
import { modulesRecipe } from '../../recipes/modules.js';
import { networkRecipe } from '../../recipes/network.js';
import { sysctlRecipe } from '../../recipes/sysctl.js';
import { vipRecipe } from '../../recipes/vip.js';
import type { HostFacts } from '../../source/facts/types.js';
import {
  KINDS,
  applySteps,
  changedIds,
  commandLines,
  commandsOf,
  decide,
  decideAll,
  factsFor,
  fileWrites,
  hasShellcheck,
  labFromYaml,
  loadExample,
  shScript,
  shSyntax,
  shellcheck,
  stepsFor,
  type TestedKind,
} from '../helpers/recipe-harness.js';

const nat = loadExample('seed-nat');
const dr = loadExample('seed-dr');
const ha = loadExample('seed-dr-keepalived');
const tun = loadExample('tun');

/** Where each kind keeps a VIP across reboots: a path that must be written, per device. */
const PERSIST: Record<TestedKind, Record<'ens33' | 'lo' | 'tunl0', string>> = {
  centos7: {
    ens33: '/etc/sysconfig/network-scripts/ifcfg-ens33:0',
    lo: '/etc/sysconfig/network-scripts/ifcfg-lo:0',
    tunl0: '/etc/sysconfig/network-scripts/ifcfg-tunl0:0',
  },
  rocky9: {
    ens33: '/etc/NetworkManager/system-connections/lvs-setup-ens33.nmconnection',
    lo: '/etc/systemd/system/lvs-setup-vip-lo.service',
    tunl0: '/etc/systemd/system/lvs-setup-vip-tunl0.service',
  },
  debian12: {
    ens33: '/etc/network/interfaces.d/lvs-setup-vip-ens33',
    lo: '/etc/network/interfaces.d/lvs-setup-vip-lo',
    tunl0: '/etc/network/interfaces.d/lvs-setup-vip-tunl0',
  },
  ubuntu24: {
    ens33: '/etc/netplan/61-lvs-setup-vip-ens33.yaml',
    lo: '/etc/systemd/system/lvs-setup-vip-lo.service',
    tunl0: '/etc/systemd/system/lvs-setup-vip-tunl0.service',
  },
  networkd: {
    ens33: '/etc/systemd/network/60-lvs-setup-ens33.network.d/60-lvs-setup-vip.conf',
    lo: '/etc/systemd/network/60-lvs-setup-lo.network',
    tunl0: '/etc/systemd/network/60-lvs-setup-tunl0.network',
  },
};

const CASES: Array<
  [string, ReturnType<typeof loadExample>, string, 'ens33' | 'lo' | 'tunl0', string]
> = [
  ['DR director', dr, 'lvs', 'ens33', 'ip addr add 192.168.91.148/32 dev ens33 label ens33:0'],
  ['DR real server', dr, 'web1', 'lo', 'ip addr add 192.168.91.148/32 dev lo label lo:0'],
  [
    'TUN real server',
    tun,
    'web1',
    'tunl0',
    'ip addr add 192.168.91.148/32 dev tunl0 label tunl0:0',
  ],
];

/** The whole run the VIP depends on: the network (networkd runs), modules (tunl0), sysctls. */
function applyRun(lab: ReturnType<typeof loadExample>, host: string, facts: HostFacts): HostFacts {
  let f = facts;
  for (const recipe of [networkRecipe, modulesRecipe, sysctlRecipe, vipRecipe]) {
    f = applySteps(stepsFor(recipe, lab, host, f), f);
  }
  return f;
}

describe.each(KINDS)('vip on %s', (kind) => {
  it.each(CASES)(
    '%s: adds the /32 now and keeps it across reboots; applying converges',
    (_n, lab, host, dev, add) => {
      const facts = factsFor(kind, lab, host);
      const d = decide(vipRecipe, lab, host, facts);
      expect(commandLines(d)).toContain(add);
      expect(fileWrites(d).has(PERSIST[kind][dev])).toBe(true);
      const after = applyRun(lab, host, facts);
      const again = decide(vipRecipe, lab, host, after);
      expect(changedIds(again)).toEqual([]);
      expect(after.nics.find((n) => n.name === dev)?.addresses).toContainEqual({
        address: '192.168.91.148',
        prefix: 32,
        family: 'inet',
        label: `${dev}:0`,
      });
    },
  );

  it('no change when the DR real server already has the VIP and the files', () => {
    const facts = factsFor(kind, dr, 'web1');
    const first = decide(vipRecipe, dr, 'web1', facts);
    const matched = structuredClone(facts);
    matched.nics
      .find((n) => n.name === 'lo')
      ?.addresses.push({ address: '192.168.91.148', prefix: 32, family: 'inet', label: 'lo:0' });
    for (const [path, f] of fileWrites(first))
      matched.files[path] = { content: f.content, mode: f.mode };
    // Enabled units: systemctl enable made the WantedBy symlink, read through to the unit.
    for (const [path, f] of fileWrites(first)) {
      if (path.startsWith('/etc/systemd/system/')) {
        matched.files[
          path.replace('/etc/systemd/system/', '/etc/systemd/system/multi-user.target.wants/')
        ] = {
          content: f.content,
          mode: f.mode,
        };
      }
    }
    const d = decide(vipRecipe, dr, 'web1', matched);
    expect(d.map((x) => [x.step.id, x.decision.status])).toEqual([
      ['vip:lo:192.168.91.148', 'ok'],
      ['vip:lo:persist', 'ok'],
    ]);
  });

  it('scripts pass sh -n (and shellcheck when installed)', () => {
    for (const [, lab, host] of CASES) {
      const facts = factsFor(kind, lab, host);
      const script = shScript(decide(vipRecipe, lab, host, facts), facts, host);
      expect(shSyntax(script)).toEqual({ ok: true, output: '' });
      if (hasShellcheck) expect(shellcheck(script).output).toBe('');
    }
  });
});

describe('vip: who gets one', () => {
  it('the NAT director whose VIP is its own address: already ok, nothing to add', () => {
    const d = decide(vipRecipe, nat, 'lvs', factsFor('centos7', nat, 'lvs'));
    expect(d.map((x) => [x.step.id, x.decision])).toEqual([
      [
        'vip:ens33:192.168.91.141',
        { status: 'ok', reason: "the VIP is this interface's own address" },
      ],
    ]);
  });

  it('NAT real servers, NFS servers and clients: none', () => {
    for (const host of ['web1', 'nfs', 'client']) {
      expect(decide(vipRecipe, nat, host, factsFor('centos7', nat, host))).toEqual([]);
    }
  });

  it('HA directors: none (keepalived owns the VIP); their real servers still get lo', () => {
    expect(decide(vipRecipe, ha, 'lvs1', factsFor('rocky9', ha, 'lvs1'))).toEqual([]);
    expect(commandLines(decide(vipRecipe, ha, 'web1', factsFor('rocky9', ha, 'web1')))).toContain(
      'ip addr add 192.168.91.148/32 dev lo label lo:0',
    );
  });

  it('has stable ids', () => {
    expect(stepsFor(vipRecipe, dr, 'lvs', factsFor('centos7', dr, 'lvs')).map((s) => s.id)).toEqual(
      ['vip:ens33:192.168.91.148', 'vip:ens33:persist'],
    );
    expect(
      stepsFor(vipRecipe, tun, 'web1', factsFor('centos7', tun, 'web1')).map((s) => s.id),
    ).toEqual(['vip:tunl0:192.168.91.148', 'vip:tunl0:up', 'vip:tunl0:persist']);
  });

  it('one alias per VIP even when two services share it; a second VIP is :1', () => {
    const lab = labFromYaml(`
name: two-vips
services:
  - { name: web, vip: 192.168.91.148, port: 80, mode: dr, real_servers: [{ host: web1 }] }
  - { name: tls, vip: 192.168.91.148, port: 443, mode: dr, real_servers: [{ host: web1 }] }
  - { name: api, vip: 192.168.91.149, port: 80, mode: dr, real_servers: [{ host: web1 }] }
hosts:
  lvs:
    role: director
    interfaces:
      ens33: { address: 192.168.91.145/24 }
  web1:
    role: real-server
    interfaces:
      ens33: { address: 192.168.91.146/24 }
`);
    const lines = commandLines(decide(vipRecipe, lab, 'web1', factsFor('centos7', lab, 'web1')));
    expect(lines.filter((l) => l.startsWith('ip addr add'))).toEqual([
      'ip addr add 192.168.91.148/32 dev lo label lo:0',
      'ip addr add 192.168.91.149/32 dev lo label lo:1',
    ]);
  });
});

describe('vip: runtime', () => {
  it('the director announces the VIP with a gratuitous ARP, optional', () => {
    const arping = commandsOf(decide(vipRecipe, dr, 'lvs', factsFor('centos7', dr, 'lvs'))).find(
      (c) => c.argv[0] === 'arping',
    );
    expect(arping?.argv).toEqual(['arping', '-U', '-c', '2', '-I', 'ens33', '192.168.91.148']);
    expect(arping?.okExitCodes).toContain(127); // not installed: skipped
  });

  it('real servers do not send ARP for the VIP', () => {
    const lines = commandLines(decide(vipRecipe, dr, 'web1', factsFor('centos7', dr, 'web1')));
    expect(lines.some((l) => l.startsWith('arping'))).toBe(false);
  });

  it('undo removes the VIP', () => {
    const add = commandsOf(decide(vipRecipe, dr, 'web1', factsFor('debian12', dr, 'web1')))[0];
    expect(add?.inverse?.map((i) => i.argv)).toEqual([
      ['ip', 'addr', 'del', '192.168.91.148/32', 'dev', 'lo'],
    ]);
    expect(add?.inverse?.[0]?.goneWhen).toContain('Address not found');
  });

  it('a VIP with the wrong prefix is not taken for the right one', () => {
    const facts = factsFor('centos7', dr, 'web1');
    facts.nics
      .find((n) => n.name === 'lo')
      ?.addresses.push({ address: '192.168.91.148', prefix: 24, family: 'inet' });
    const d = decide(vipRecipe, dr, 'web1', facts);
    expect(d[0]?.decision.reason).toBe('lo has 192.168.91.148/24, not /32');
  });

  it('explains why the seed’s route add -host is not needed', () => {
    for (const x of decide(vipRecipe, dr, 'web1', factsFor('centos7', dr, 'web1')).slice(0, 1)) {
      expect(x.step.explain).toMatch(/route add -host.*not needed.*local route/);
    }
  });

  it('brings tunl0 up', () => {
    const facts = applySteps(
      stepsFor(modulesRecipe, tun, 'web1', factsFor('debian12', tun, 'web1')),
      factsFor('debian12', tun, 'web1'),
    );
    expect(facts.nics.find((n) => n.name === 'tunl0')?.state).toBe('DOWN');
    expect(commandLines(decide(vipRecipe, tun, 'web1', facts))).toContain('ip link set tunl0 up');
  });
});

describe('vip: persistent files', () => {
  it('CentOS 7: the seed’s alias files', () => {
    const lo = fileWrites(decide(vipRecipe, dr, 'web1', factsFor('centos7', dr, 'web1')));
    expect(lo.get('/etc/sysconfig/network-scripts/ifcfg-lo:0')?.content).toBe(
      '# Written by lvs-setup for host web1 of lab seed-dr: VIP 192.168.91.148 (web).\nDEVICE=lo:0\nONBOOT=yes\nBOOTPROTO=static\nIPADDR=192.168.91.148\nNETMASK=255.255.255.255\n',
    );
    const ens = fileWrites(decide(vipRecipe, dr, 'lvs', factsFor('centos7', dr, 'lvs')));
    expect(ens.get('/etc/sysconfig/network-scripts/ifcfg-ens33:0')?.content).toContain(
      'DEVICE=ens33:0\n',
    );
    const t = fileWrites(decide(vipRecipe, tun, 'web1', factsFor('centos7', tun, 'web1')));
    expect(t.get('/etc/sysconfig/network-scripts/ifcfg-tunl0')?.content).toContain(
      'DEVICE=tunl0\nONBOOT=yes\nBOOTPROTO=none\nNM_CONTROLLED=no\n',
    );
  });

  it('Rocky 9: the director VIP is a secondary address of the NetworkManager profile', () => {
    const d = decide(vipRecipe, dr, 'lvs', factsFor('rocky9', dr, 'lvs'));
    const net = decide(networkRecipe, dr, 'lvs', factsFor('rocky9', dr, 'lvs'));
    const path = '/etc/NetworkManager/system-connections/lvs-setup-ens33.nmconnection';
    // The same file as the network step's: whichever runs first writes it, the other finds it ok.
    expect(fileWrites(d).get(path)).toEqual(fileWrites(net).get(path));
    expect(fileWrites(d).get(path)?.content).toContain('address2=192.168.91.148/32\n');
  });

  it('Rocky 9 and Ubuntu: lo gets a oneshot unit ordered after sysctls, enabled not started', () => {
    for (const kind of ['rocky9', 'ubuntu24'] as const) {
      const d = decide(vipRecipe, dr, 'web1', factsFor(kind, dr, 'web1'));
      const unit = fileWrites(d).get('/etc/systemd/system/lvs-setup-vip-lo.service')?.content ?? '';
      expect(unit).toContain(
        'After=systemd-modules-load.service systemd-sysctl.service local-fs.target\n',
      );
      expect(unit).toContain('ExecStart=-/sbin/ip addr add 192.168.91.148/32 dev lo label lo:0\n');
      expect(unit).toContain('ExecStop=-/sbin/ip addr del 192.168.91.148/32 dev lo\n');
      expect(commandLines(d)).toEqual([
        'ip addr add 192.168.91.148/32 dev lo label lo:0',
        'systemctl daemon-reload',
        'systemctl enable lvs-setup-vip-lo.service',
      ]);
    }
  });

  it('Debian 12: alias stanzas', () => {
    const d = decide(vipRecipe, dr, 'web1', factsFor('debian12', dr, 'web1'));
    expect(fileWrites(d).get('/etc/network/interfaces.d/lvs-setup-vip-lo')?.content).toContain(
      'auto lo:0\niface lo:0 inet static\n    address 192.168.91.148/32\n',
    );
  });

  it('networkd: a drop-in for the director, a .network for lo; reload when running', () => {
    const facts = factsFor('networkd', dr, 'lvs');
    expect(
      fileWrites(decide(vipRecipe, dr, 'lvs', facts)).get(PERSIST.networkd.ens33)?.content,
    ).toContain('[Address]\nAddress=192.168.91.148/32\nLabel=ens33:0\n');
    const rs = factsFor('networkd', dr, 'web1');
    rs.services['systemd-networkd'] = { present: true, active: true, enabled: true };
    const d = decide(vipRecipe, dr, 'web1', rs);
    expect(fileWrites(d).get(PERSIST.networkd.lo)?.content).toMatch(
      /\[Match\]\nName=lo\n[\s\S]*RequiredForOnline=no[\s\S]*KeepConfiguration=static\n\n\[Address\]\nAddress=192\.168\.91\.148\/32\nLabel=lo:0\n$/,
    );
    expect(commandLines(d)).toContain('networkctl reload');
  });

  it('a NIC name too long for an alias label: no label, and a unit instead of ifcfg', () => {
    const lab = labFromYaml(`
name: long-nic
services:
  - { name: web, vip: 10.0.0.100, port: 80, mode: dr, real_servers: [{ host: web1 }] }
hosts:
  lvs:
    role: director
    interfaces:
      enp0s31f6abcdef: { address: 10.0.0.5/24 }
  web1:
    role: real-server
    interfaces:
      eth0: { address: 10.0.0.6/24 }
`);
    const d = decide(vipRecipe, lab, 'lvs', factsFor('centos7', lab, 'lvs'));
    expect(commandLines(d)[0]).toBe('ip addr add 10.0.0.100/32 dev enp0s31f6abcdef');
    expect(fileWrites(d).has('/etc/systemd/system/lvs-setup-vip-enp0s31f6abcdef.service')).toBe(
      true,
    );
  });

  it('no known system: runtime only, and the step says so', () => {
    const facts = factsFor('debian12', dr, 'web1');
    facts.networkConfig = 'none';
    const d = decideAll(stepsFor(vipRecipe, dr, 'web1', facts), facts);
    expect(fileWrites(d).size).toBe(0);
    expect(d[1]?.step.explain).toMatch(/^WARNING/);
  });
});
