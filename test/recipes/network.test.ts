import { describe, expect, it } from 'vitest';
import { networkRecipe } from '../../recipes/network.js';
import {
  IFUPDOWN_DISABLED,
  ifcfgNic,
  ifupdownInterfaces,
  stableUuid,
} from '../../recipes/network-render.js';
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

/** Hosts of the examples that cover one NIC, two NICs, gateways, no DNS. */
const CASES: Array<[string, ReturnType<typeof loadExample>, string]> = [
  ['seed-nat', nat, 'lvs'],
  ['seed-nat', nat, 'web1'],
  ['seed-nat', nat, 'client'],
  ['seed-dr', dr, 'web1'],
];

const PERSIST_PATH: Record<TestedKind, (nic: string) => string> = {
  centos7: (n) => `/etc/sysconfig/network-scripts/ifcfg-${n}`,
  rocky9: (n) => `/etc/NetworkManager/system-connections/lvs-setup-${n}.nmconnection`,
  debian12: (n) => `/etc/network/interfaces.d/lvs-setup-${n}`,
  ubuntu24: () => '/etc/netplan/60-lvs-setup.yaml',
  networkd: (n) => `/etc/systemd/network/60-lvs-setup-${n}.network`,
};

describe.each(KINDS)('network on %s', (kind) => {
  it.each(CASES)(
    '%s %s: a fresh VM gets its addresses, and applying converges',
    (_l, lab, host) => {
      const facts = factsFor(kind, lab, host);
      const steps = stepsFor(networkRecipe, lab, host, facts);
      const d = decideAll(steps, facts);
      const nics = Object.entries(lab.file.hosts[host]?.interfaces ?? {}).filter(
        ([, c]) => c.address,
      );
      for (const [nic, cfg] of nics) {
        expect(commandLines(d)).toContain(`ip addr add ${cfg.address} brd + dev ${nic}`);
        expect(fileWrites(d).has(PERSIST_PATH[kind](nic))).toBe(true);
      }
      const after = applySteps(steps, facts);
      const again = decideAll(stepsFor(networkRecipe, lab, host, after), after);
      expect(changedIds(again)).toEqual([]);
    },
  );

  it('no change when the host already matches (addresses, route, files)', () => {
    const facts = factsFor(kind, nat, 'lvs');
    const first = decide(networkRecipe, nat, 'lvs', facts);
    // Make the facts match by hand: the addresses and the route as the kernel shows them, the
    // files with the content the plan would write, the services as they would run.
    const matched: HostFacts = structuredClone(facts);
    for (const n of matched.nics) {
      if (n.name === 'ens33')
        n.addresses = [{ address: '192.168.91.141', prefix: 24, family: 'inet' }];
      if (n.name === 'ens37')
        n.addresses = [{ address: '192.168.81.141', prefix: 24, family: 'inet' }];
    }
    matched.routes = { defaultGateway: '192.168.91.2', defaultDev: 'ens33', routes: [] };
    for (const [path, f] of fileWrites(first))
      matched.files[path] = { content: f.content, mode: f.mode };
    matched.services['systemd-networkd'] = { present: true, active: true, enabled: true };
    const d = decide(networkRecipe, nat, 'lvs', matched);
    expect(d.length).toBeGreaterThan(0);
    for (const { step, decision } of d) expect([step.id, decision.status]).toEqual([step.id, 'ok']);
  });

  it('renders a script that passes sh -n (and shellcheck when installed)', () => {
    for (const [, lab, host] of CASES) {
      const facts = factsFor(kind, lab, host);
      const script = shScript(decide(networkRecipe, lab, host, facts), facts, host);
      expect(shSyntax(script)).toEqual({ ok: true, output: '' });
      if (hasShellcheck) expect(shellcheck(script).output).toBe('');
    }
  });
});

describe('network: runtime', () => {
  const facts = factsFor('centos7', nat, 'lvs');
  const d = decide(networkRecipe, nat, 'lvs', facts);

  it('has stable, unique ids in run order', () => {
    expect(d.map((x) => x.step.id)).toEqual([
      'network:ens33:link',
      'network:ens33:address',
      'network:ens37:link',
      'network:ens37:address',
      'network:default-route',
      'network:ens33:persist',
      'network:ens37:persist',
    ]);
  });

  it('adds each address with ip, with its inverse', () => {
    const add = commandsOf(d).find(
      (c) => c.argv.join(' ') === 'ip addr add 192.168.91.141/24 brd + dev ens33',
    );
    expect(add?.inverse?.map((i) => i.argv)).toEqual([
      ['ip', 'addr', 'del', '192.168.91.141/24', 'dev', 'ens33'],
    ]);
    // iproute2's words for an address (or device) already gone count as undone.
    expect(add?.inverse?.[0]?.goneWhen).toEqual(
      expect.arrayContaining(['Cannot find device', 'Cannot assign requested address']),
    );
  });

  it('leaves an address that is already there, and tells about other ones', () => {
    const f = structuredClone(facts);
    const ens33 = f.nics.find((n) => n.name === 'ens33');
    ens33?.addresses.push({ address: '192.168.91.200', prefix: 24, family: 'inet' });
    const step = stepsFor(networkRecipe, nat, 'lvs', f).find(
      (s) => s.id === 'network:ens33:address',
    );
    const decision = step?.decide(f);
    expect(decision?.reason).toContain('192.168.91.200/24');
    ens33?.addresses.push({ address: '192.168.91.141', prefix: 24, family: 'inet' });
    expect(step?.decide(f).status).toBe('ok');
  });

  it('brings a down interface up', () => {
    const f = structuredClone(facts);
    const ens37 = f.nics.find((n) => n.name === 'ens37');
    if (ens37) ens37.state = 'DOWN';
    expect(commandLines(decide(networkRecipe, nat, 'lvs', f))).toContain('ip link set ens37 up');
  });

  it('replaces the default route, and undo restores the old one', () => {
    const f = structuredClone(facts);
    f.routes = { defaultGateway: '10.0.2.2', defaultDev: 'ens37', routes: [] };
    const route = commandsOf(decide(networkRecipe, nat, 'lvs', f)).find(
      (c) => c.argv[1] === 'route',
    );
    expect(route?.argv).toEqual([
      'ip',
      'route',
      'replace',
      'default',
      'via',
      '192.168.91.2',
      'dev',
      'ens33',
    ]);
    expect(route?.inverse).toEqual([
      { argv: ['ip', 'route', 'replace', 'default', 'via', '10.0.2.2', 'dev', 'ens37'] },
    ]);
    // No default route before: undo deletes ours.
    const none = commandsOf(d).find((c) => c.argv[1] === 'route');
    expect(none?.inverse).toEqual([
      { argv: ['ip', 'route', 'del', 'default', 'via', '192.168.91.2', 'dev', 'ens33'] },
    ]);
  });

  it('the NAT real server routes through the director', () => {
    const w = decide(networkRecipe, nat, 'web1', factsFor('centos7', nat, 'web1'));
    expect(commandLines(w)).toContain('ip route replace default via 192.168.81.141 dev ens33');
  });

  it('leaves interfaces without an address alone', () => {
    const lab = labFromYaml(`
name: spare-nic
services:
  - { name: web, vip: 192.168.91.148, port: 80, mode: dr, real_servers: [{ host: web1 }] }
hosts:
  lvs:
    role: director
    interfaces:
      ens33: { address: 192.168.91.145/24, gateway: 192.168.91.2 }
      ens37: {}
  web1:
    role: real-server
    interfaces:
      ens33: { address: 192.168.91.146/24 }
`);
    const ids = decide(networkRecipe, lab, 'lvs', factsFor('centos7', lab, 'lvs')).map(
      (x) => x.step.id,
    );
    expect(ids.some((id) => id.includes('ens37'))).toBe(false);
    expect(ids).toContain('network:ens33:address');
  });

  it('explains that changing the SSH interface drops the session', () => {
    const step = d.find((x) => x.step.id === 'network:ens33:address')?.step;
    expect(step?.explain).toMatch(/SSH.*drop the session/);
  });
});

describe('network: ifcfg (CentOS 7)', () => {
  const files = fileWrites(decide(networkRecipe, nat, 'lvs', factsFor('centos7', nat, 'lvs')));

  it('writes the seed’s ifcfg-ens33', () => {
    expect(files.get('/etc/sysconfig/network-scripts/ifcfg-ens33')?.content).toBe(
      [
        '# Written by lvs-setup for host lvs of lab seed-nat: static address of ens33.',
        'DEVICE=ens33',
        'ONBOOT=yes',
        'BOOTPROTO=static',
        'IPADDR=192.168.91.141',
        'NETMASK=255.255.255.0',
        'GATEWAY=192.168.91.2',
        'DNS1=192.168.91.2',
        'DNS2=8.8.8.8',
        '',
      ].join('\n'),
    );
  });

  it('gives ens37 no gateway (one default route only)', () => {
    const ens37 = files.get('/etc/sysconfig/network-scripts/ifcfg-ens37')?.content ?? '';
    expect(ens37).toContain('IPADDR=192.168.81.141');
    expect(ens37).not.toContain('GATEWAY');
  });

  it('keeps the installer’s keys, replaces its DHCP and PREFIX, and is stable', () => {
    const installer = [
      'TYPE="Ethernet"',
      'BOOTPROTO="dhcp"',
      'DEFROUTE="yes"',
      'NAME="ens37"',
      'UUID="0b0a1e3c-55c4-4e8f-9a5e-0d0d2c1f7a11"',
      'DEVICE="ens37"',
      'ONBOOT="no"',
      'HWADDR=00:0c:29:aa:bb:cc',
      'PREFIX=16',
      'GATEWAY=192.168.81.1',
      'DNS1=192.168.81.1',
      '',
    ].join('\n');
    const nic = {
      nic: 'ens37',
      address: '192.168.81.141',
      prefix: 24,
      cidr: '192.168.81.141/24',
      gateway: null,
      dns: [],
    };
    const out = ifcfgNic(installer, nic, 'header');
    expect(out).toBe(
      [
        'TYPE="Ethernet"',
        'BOOTPROTO=static',
        'DEFROUTE="yes"',
        'NAME="ens37"',
        'UUID="0b0a1e3c-55c4-4e8f-9a5e-0d0d2c1f7a11"',
        'DEVICE=ens37',
        'ONBOOT=yes',
        'HWADDR=00:0c:29:aa:bb:cc',
        'DNS1=192.168.81.1',
        'IPADDR=192.168.81.141',
        'NETMASK=255.255.255.0',
        '',
      ].join('\n'),
    );
    expect(ifcfgNic(out, nic, 'header')).toBe(out);
  });

  it('decides from the file as it is: the merged file is ok', () => {
    const facts = factsFor('centos7', nat, 'lvs');
    facts.files['/etc/sysconfig/network-scripts/ifcfg-ens33'] = {
      content:
        'UUID=x\nNAME=ens33\nDEVICE=ens33\nONBOOT=yes\nBOOTPROTO=static\nIPADDR=192.168.91.141\nNETMASK=255.255.255.0\nGATEWAY=192.168.91.2\nDNS1=192.168.91.2\nDNS2=8.8.8.8\n',
      mode: 0o644,
    };
    const step = stepsFor(networkRecipe, nat, 'lvs', facts).find(
      (s) => s.id === 'network:ens33:persist',
    );
    expect(step?.decide(facts).status).toBe('ok');
  });

  it('asks a running NetworkManager to re-read the ifcfg files', () => {
    const facts = factsFor('centos7', nat, 'lvs');
    facts.services.NetworkManager = { present: true, active: true, enabled: true };
    expect(commandLines(decide(networkRecipe, nat, 'lvs', facts))).toContain(
      'nmcli connection reload',
    );
  });
});

describe('network: NetworkManager (Rocky 9)', () => {
  const facts = factsFor('rocky9', dr, 'lvs');
  const d = decide(networkRecipe, dr, 'lvs', facts);
  const path = '/etc/NetworkManager/system-connections/lvs-setup-ens33.nmconnection';

  it('uses nmcli and a keyfile, not ifcfg', () => {
    expect(commandLines(d)).toContain(`nmcli connection load ${path}`);
    expect([...fileWrites(d).keys()].some((p) => p.includes('network-scripts'))).toBe(false);
    expect(commandLines(d).some((l) => l.startsWith('nmcli connection up'))).toBe(false);
  });

  it('writes manual IPv4 with the VIP of this director, mode 0600', () => {
    const f = fileWrites(d).get(path);
    expect(f?.mode).toBe(0o600);
    expect(f?.content).toContain(
      'method=manual\naddress1=192.168.91.145/24\naddress2=192.168.91.148/32\ngateway=192.168.91.2\ndns=192.168.91.2;8.8.8.8;\n',
    );
    expect(f?.content).toContain(`uuid=${stableUuid('seed-dr/lvs/ens33')}`);
    expect(f?.content).toContain('interface-name=ens33');
  });

  it('undo forgets a profile it created', () => {
    const load = commandsOf(d).find((c) => c.argv[0] === 'nmcli');
    expect(load?.inverse).toEqual([
      { argv: ['nmcli', 'connection', 'delete', 'id', 'lvs-setup-ens33'], okExitCodes: [0, 10] },
    ]);
  });

  it('HA directors keep the VIP out of the profile (keepalived owns it)', () => {
    const ha = loadExample('seed-dr-keepalived');
    const f = fileWrites(decide(networkRecipe, ha, 'lvs1', factsFor('rocky9', ha, 'lvs1'))).get(
      path,
    );
    expect(f?.content).not.toContain('192.168.91.148');
  });
});

describe('network: ifupdown (Debian 12)', () => {
  const d = decide(networkRecipe, nat, 'lvs', factsFor('debian12', nat, 'lvs'));

  it('writes Debian paths', () => {
    expect(fileWrites(d).get('/etc/network/interfaces.d/lvs-setup-ens33')?.content).toBe(
      '# Written by lvs-setup for host lvs of lab seed-nat: static address of ens33.\nauto ens33\niface ens33 inet static\n    address 192.168.91.141/24\n    gateway 192.168.91.2\n    dns-nameservers 192.168.91.2 8.8.8.8\n',
    );
    expect(fileWrites(d).has('/etc/network/interfaces')).toBe(true);
  });

  const DEBIAN_DEFAULT = `# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug ens33
iface ens33 inet dhcp
# This is an autoconfigured IPv6 interface
iface ens33 inet6 auto
`;

  it('comments out the installer’s DHCP stanza, keeps IPv6 and the rest', () => {
    const out = ifupdownInterfaces(DEBIAN_DEFAULT, ['ens33', 'ens37']);
    expect(out).toContain(
      `${IFUPDOWN_DISABLED}allow-hotplug ens33\n${IFUPDOWN_DISABLED}iface ens33 inet dhcp\n`,
    );
    expect(out).toContain('\niface ens33 inet6 auto\n');
    expect(out).toContain('\nauto lo\niface lo inet loopback\n');
    expect(out.match(/^source /gm)).toHaveLength(1);
    expect(ifupdownInterfaces(out, ['ens33', 'ens37'])).toBe(out);
  });

  it('comments option lines of the stanza and splits shared auto lines', () => {
    const text =
      'auto lo ens33\niface lo inet loopback\niface ens33 inet static\n  address 10.0.0.5/24\n  gateway 10.0.0.1\n\niface ens34 inet dhcp\n';
    const out = ifupdownInterfaces(text, ['ens33']);
    expect(out).toBe(
      `${IFUPDOWN_DISABLED}auto lo ens33\nauto lo\niface lo inet loopback\n${IFUPDOWN_DISABLED}iface ens33 inet static\n${IFUPDOWN_DISABLED}  address 10.0.0.5/24\n${IFUPDOWN_DISABLED}  gateway 10.0.0.1\n\niface ens34 inet dhcp\n\n# Added by lvs-setup: the static interfaces it writes live here.\nsource /etc/network/interfaces.d/*\n`,
    );
    expect(ifupdownInterfaces(out, ['ens33'])).toBe(out);
  });
  it('also comments out cloud-init’s stanza in interfaces.d, and leaves a missing one missing', () => {
    const facts = factsFor('debian12', nat, 'lvs');
    const cloud = '/etc/network/interfaces.d/50-cloud-init';
    const step = stepsFor(networkRecipe, nat, 'lvs', facts).find(
      (s) => s.id === 'network:ifupdown:interfaces',
    );
    expect(step?.reads).toContain(cloud);
    const absent = step?.decide(facts);
    expect(
      absent?.status === 'change' && absent.actions.map((a) => a.kind === 'file' && a.path),
    ).toEqual(['/etc/network/interfaces']);
    facts.files['/etc/network/interfaces'] = { content: DEBIAN_DEFAULT, mode: 0o644 };
    facts.files[cloud] = {
      content:
        'auto lo\niface lo inet loopback\n\nauto ens33\nallow-hotplug ens33\niface ens33 inet dhcp\n',
      mode: 0o644,
    };
    const d = step?.decide(facts);
    const written = d?.status === 'change' ? d.actions : [];
    const cloudOut = written.find((a) => a.kind === 'file' && a.path === cloud);
    expect(cloudOut?.kind === 'file' && cloudOut.content).toBe(
      `auto lo\niface lo inet loopback\n\n${IFUPDOWN_DISABLED}auto ens33\n${IFUPDOWN_DISABLED}allow-hotplug ens33\n${IFUPDOWN_DISABLED}iface ens33 inet dhcp\n`,
    );
  });
});

describe('network: netplan (Ubuntu 24.04)', () => {
  const d = decide(networkRecipe, nat, 'lvs', factsFor('ubuntu24', nat, 'lvs'));

  it('writes 60-lvs-setup.yaml mode 0600 and only generates', () => {
    const f = fileWrites(d).get('/etc/netplan/60-lvs-setup.yaml');
    expect(f?.mode).toBe(0o600);
    expect(f?.content).toContain(
      '  ethernets:\n    ens33:\n      dhcp4: false\n      addresses:\n        - 192.168.91.141/24\n      routes:\n        - to: default\n          via: 192.168.91.2\n      nameservers:\n        addresses:\n          - 192.168.91.2\n          - 8.8.8.8\n    ens37:\n      dhcp4: false\n      addresses:\n        - 192.168.81.141/24\n',
    );
    expect(commandLines(d)).toContain('netplan generate');
    expect(commandLines(d)).not.toContain('netplan apply');
  });
});

describe('network: systemd-networkd (the lab guests)', () => {
  const facts = factsFor('networkd', nat, 'lvs');
  const d = decide(networkRecipe, nat, 'lvs', facts);

  it('writes a .network file per interface that keeps foreign addresses', () => {
    expect(fileWrites(d).get('/etc/systemd/network/60-lvs-setup-ens33.network')?.content).toMatch(
      /\[Match\]\nName=ens33\n\n\[Network\]\nAddress=192\.168\.91\.141\/24\nGateway=192\.168\.91\.2\nDNS=192\.168\.91\.2\nDNS=8\.8\.8\.8\n(#.*\n)+KeepConfiguration=static\n$/,
    );
  });

  it('enables systemd-networkd so the addresses come back after reboot', () => {
    const enable = commandsOf(d).find((c) => c.argv.includes('systemd-networkd'));
    expect(enable?.argv).toEqual(['systemctl', 'enable', '--now', 'systemd-networkd']);
    expect(enable?.inverse).toEqual([
      { argv: ['systemctl', 'disable', 'systemd-networkd'] },
      { argv: ['systemctl', 'stop', 'systemd-networkd'] },
    ]);
    expect(commandLines(d)).not.toContain('networkctl reload');
  });

  it('reloads a running networkd after changing its files', () => {
    const f = structuredClone(facts);
    f.services['systemd-networkd'] = { present: true, active: true, enabled: true };
    expect(commandLines(decide(networkRecipe, nat, 'lvs', f))).toContain('networkctl reload');
  });
});

describe('network: no known system', () => {
  it('configures at runtime only and says so', () => {
    const facts = factsFor('debian12', nat, 'lvs');
    facts.networkConfig = 'none';
    const d = decide(networkRecipe, nat, 'lvs', facts);
    expect(fileWrites(d).size).toBe(0);
    expect(commandLines(d)).toContain('ip addr add 192.168.91.141/24 brd + dev ens33');
    const persist = d.find((x) => x.step.id === 'network:ens33:persist');
    expect(persist?.decision).toEqual({
      status: 'ok',
      reason: 'not persistent: no known network configuration system (runtime only)',
    });
    expect(persist?.step.explain).toMatch(/^WARNING/);
  });
});
