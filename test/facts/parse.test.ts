import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseFirewalldListAll,
  parseIpJsonAddr,
  parseIpJsonRoute,
  parseIpText,
  parseIpTextRoute,
  parseIpvsadmSave,
  parseOsRelease,
  parsePackageQuery,
  parseSystemctlShow,
  parseVersion,
} from '../../source/facts/parse.js';

const fx = (name: string) =>
  readFileSync(new URL(`../fixtures/facts/${name}`, import.meta.url), 'utf8');

describe('ip addr parsers', () => {
  it('reads EL7 text output, keeping NICs without addresses, secondary addresses and alias labels', () => {
    const nics = parseIpText(fx('el7-ip-link.txt'), fx('el7-ip-addr.txt'));
    expect(nics.map((n) => n.name)).toEqual(['lo', 'ens33', 'ens37', 'ens38']);
    const ens33 = nics.find((n) => n.name === 'ens33');
    expect(ens33?.mac).toBe('00:0c:29:3a:5b:7c');
    expect(ens33?.state).toBe('UP');
    expect(ens33?.addresses.filter((a) => a.family === 'inet')).toEqual([
      { address: '192.168.91.141', prefix: 24, family: 'inet' },
      { address: '192.168.91.200', prefix: 24, family: 'inet', label: 'ens33:1', secondary: true },
    ]);
    const lo = nics.find((n) => n.name === 'lo');
    expect(lo?.addresses.find((a) => a.address === '192.168.91.148')).toEqual({
      address: '192.168.91.148',
      prefix: 32,
      family: 'inet',
      label: 'lo:0',
    });
    const ens38 = nics.find((n) => n.name === 'ens38');
    expect(ens38).toMatchObject({ state: 'DOWN', addresses: [], mac: '00:0c:29:3a:5b:90' });
  });

  it('reads Rocky 9 JSON output with the same shape', () => {
    const nics = parseIpJsonAddr(fx('rocky9-ip-addr.json'));
    expect(nics.map((n) => n.name)).toEqual(['lo', 'ens33', 'ens37', 'tunl0']);
    expect(nics[1]?.addresses[0]).toEqual({
      address: '192.168.91.146',
      prefix: 24,
      family: 'inet',
    });
    expect(nics[0]?.addresses[1]).toMatchObject({
      address: '192.168.91.148',
      prefix: 32,
      label: 'lo:0',
    });
    expect(nics[2]).toMatchObject({
      name: 'ens37',
      state: 'DOWN',
      addresses: [],
      mac: '00:0c:29:ab:cd:f9',
    });
    expect(nics[3]).toMatchObject({ name: 'tunl0', mac: null, linkType: 'ipip' });
  });

  it('reads a Debian 12 JSON recording', () => {
    const nics = parseIpJsonAddr(fx('debian12-container-ip-addr.json'));
    expect(nics[0]?.name).toBe('lo');
    expect(nics.every((n) => Array.isArray(n.addresses))).toBe(true);
  });
});

describe('route parsers', () => {
  it('finds the default route in text and JSON', () => {
    expect(parseIpTextRoute(fx('el7-ip-route.txt'))).toMatchObject({
      defaultGateway: '192.168.91.2',
      defaultDev: 'ens33',
    });
    const r = parseIpJsonRoute(fx('rocky9-ip-route.json'));
    expect(r.defaultGateway).toBe('192.168.91.2');
    expect(r.routes[1]).toEqual({ dst: '192.168.91.0/24', dev: 'ens33' });
    expect(parseIpJsonRoute('[]')).toMatchObject({ defaultGateway: null, defaultDev: null });
  });
});

describe('os-release', () => {
  it.each([
    ['el7-os-release', { id: 'centos', family: 'el', distro: 'centos7', major: 7 }],
    ['rocky9-os-release', { id: 'rocky', family: 'el', distro: 'rocky9', major: 9 }],
    ['debian12-os-release', { id: 'debian', family: 'debian', distro: 'debian12', major: 12 }],
    ['ubuntu24-os-release', { id: 'ubuntu', family: 'debian', distro: 'ubuntu24', major: 24 }],
  ])('%s', (file, want) => {
    expect(parseOsRelease(fx(file))).toMatchObject(want);
  });
  it('an unknown distro has no recipe key', () => {
    expect(parseOsRelease('ID=arch\nPRETTY_NAME="Arch Linux"\n')).toMatchObject({
      family: 'unknown',
      distro: null,
    });
  });
});

describe('ipvsadm -Sn', () => {
  it('parses tcp, udp and fwmark services with every forward method', () => {
    const s = parseIpvsadmSave(fx('ipvsadm-save-el7.txt'));
    expect(s).toHaveLength(4);
    expect(s[0]).toEqual({
      protocol: 'tcp',
      address: '192.168.91.141:80',
      scheduler: 'wrr',
      persistence: 120,
      destinations: [
        { address: '192.168.81.142', port: 80, forward: 'masq', weight: 1 },
        { address: '192.168.81.143', port: 80, forward: 'masq', weight: 3 },
      ],
    });
    expect(s[1]).toMatchObject({ protocol: 'udp', address: '192.168.91.141:53', persistence: 0 });
    expect(s[2]).toMatchObject({
      protocol: 'fwmark',
      address: '1',
      scheduler: 'sh',
      destinations: [{ forward: 'route', weight: 2 }],
    });
    expect(s[3]?.destinations.map((d) => d.forward)).toEqual(['tunnel', 'route']);
  });
  it('an empty table is an empty list', () => {
    expect(parseIpvsadmSave('')).toEqual([]);
  });
});

describe('other parsers', () => {
  it('systemctl show blocks', () => {
    expect(parseSystemctlShow(fx('systemctl-show.txt'))).toEqual({
      firewalld: { present: true, active: true, enabled: true },
      nginx: { present: true, active: false, enabled: false },
      keepalived: { present: false, active: false, enabled: false },
    });
  });
  it('firewall-cmd --list-all', () => {
    expect(parseFirewalldListAll(fx('firewalld-list-all.txt'))).toEqual({
      zone: 'public',
      services: ['dhcpv6-client', 'ssh'],
      ports: ['80/tcp'],
      protocols: ['vrrp'],
      richRules: ['rule family="ipv4" source address="192.168.91.0/24" accept'],
      masquerade: true,
    });
  });
  it('rpm and dpkg package queries: only installed packages get a version', () => {
    expect(
      parsePackageQuery(
        fx('rpm-query-el7.txt'),
        ['ipvsadm', 'keepalived', 'nginx', 'rpcbind'],
        'rpm',
      ),
    ).toEqual({
      ipvsadm: '1.27-8.el7',
      keepalived: null,
      nginx: '1.20.1-10.el7',
      rpcbind: null,
    });
    expect(
      parsePackageQuery(
        fx('dpkg-query-debian12.txt'),
        ['ipvsadm', 'keepalived', 'nginx-light', 'nfs-kernel-server'],
        'dpkg',
      ),
    ).toEqual({
      ipvsadm: '1:1.31-1+b1',
      keepalived: null,
      'nginx-light': '1.22.1-9+deb12u1',
      'nfs-kernel-server': null,
    });
  });
  it('versions as programs print them', () => {
    expect(parseVersion('Keepalived v2.2.7 (01/16,2022)')).toBe('2.2.7');
    expect(parseVersion('ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)')).toBe(
      '1.31',
    );
    expect(parseVersion('nginx version: nginx/1.22.1')).toBe('1.22.1');
    expect(parseVersion('no version here')).toBeNull();
  });
});
