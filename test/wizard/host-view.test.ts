import { describe, expect, it } from 'vitest';
import {
  defaultNic,
  detectWarnings,
  freeAddressNear,
  nicRows,
  proposeVip,
  usableNics,
} from '../../source/wizard/host-view.js';
import { factsWith } from './helpers.js';

describe('facts for the wizard', () => {
  const facts = factsWith(
    [
      { name: 'ens33', addr: '192.168.91.141/24', mac: '00:0c:29:aa:bb:01' },
      { name: 'ens37', addr: '192.168.81.141/24' },
      { name: 'tunl0' },
    ],
    { defaultDev: 'ens33', gateway: '192.168.91.2' },
  );

  it('offers the NICs but not lo or tunnel devices', () => {
    expect(usableNics(facts).map((n) => n.name)).toEqual(['ens33', 'ens37']);
    expect(defaultNic(facts)?.name).toBe('ens33');
  });

  it('proposes the NIC address itself as a NAT VIP (as the seed does)', () => {
    expect(proposeVip(facts, 'nat')).toBe('192.168.91.141');
  });

  it('proposes a free address 7 above the host (.148 for .141) for DR and TUN', () => {
    expect(proposeVip(facts, 'dr')).toBe('192.168.91.148');
    expect(proposeVip(facts, 'tun')).toBe('192.168.91.148');
  });

  it('steps past addresses in use and stays inside the subnet', () => {
    expect(freeAddressNear('10.0.0.1', 24, new Set(['10.0.0.8', '10.0.0.9']))).toBe('10.0.0.10');
    expect(freeAddressNear('10.0.0.250', 24, new Set())).toBe('10.0.0.3');
    expect(freeAddressNear('10.0.0.1', 31, new Set())).toBeNull();
  });

  it('proposes nothing when the host has no address yet', () => {
    expect(proposeVip(factsWith([{ name: 'ens33' }]), 'dr')).toBe('');
  });

  it('makes the NIC table rows with the default-route marker', () => {
    expect(nicRows(facts)[0]).toEqual({
      name: 'ens33',
      state: 'UP',
      addresses: '192.168.91.141/24',
      mac: '00:0c:29:aa:bb:01',
      defaultRoute: true,
    });
  });

  it('warns plainly: not root, no ip_vs, Node too old, unknown distro', () => {
    const off = { ...factsWith([{ name: 'eth0' }], { ipvs: false }) };
    off.os = { ...off.os, distro: null, prettyName: 'Plan 9' };
    const w = detectWarnings(off, { uid: 1000, dryRunFlag: false, nodeVersion: 'v18.19.0' });
    const text = w.map((x) => x.text).join('\n');
    expect(text).toMatch(/Not root: only a dry run is possible/);
    expect(text).toMatch(/no IPVS \(ip_vs\)/);
    expect(text).toMatch(/Node v18.19.0 is too old/);
    expect(text).toMatch(/Plan 9 is not a distro lvs-setup knows/);
    expect(detectWarnings(facts, { uid: 0, dryRunFlag: false })).toEqual([]);
    expect(detectWarnings(facts, { uid: 0, dryRunFlag: true })[0]?.text).toMatch(/Dry run/);
  });
});
