import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HZ,
  formatIpvsadmList,
  formatIpvsadmRate,
  formatIpvsadmStats,
  formatProcIpVs,
  formatProcIpVsStats,
  largenum,
} from '../../source/monitor/format-ipvsadm.js';
import { destinationKey, serviceKey, type ServiceSnapshot } from '../../source/monitor/model.js';
import {
  canonicalIpv6,
  hexToIpv4,
  isDottedQuad,
  LineReuse,
  listingReuse,
  type ParsedDestination,
  parseFibTrieLocal,
  parseIfInet6,
  parseIpvsadmList,
  parseIpvsadmListing,
  parseIpvsadmRate,
  parseIpvsadmStats,
  parseIpvsNumber,
  parseProcIpVs,
  parseProcIpVsStats,
  splitHostPort,
} from '../../source/monitor/parse.js';
import { parseIpJsonAddr } from '../../source/facts/parse.js';
import { buildSnapshot, SnapshotReuse, withHealth } from '../../source/monitor/snapshot.js';
import { DEBIAN12, fixture } from './helpers.js';

const EL7 = 'el7-ipvsadm-1.27/';
/** Captured from a real director: test/lab/capture-ipvsadm.mjs (kernel 6.1, ipvsadm 1.31). */
const LAB = 'debian12-lab/';
const director = { vrrp: 'none' as const, keepalived: false, vipsPresent: [] };

describe('small parsers', () => {
  it('reads the kernel hex addresses and ports', () => {
    expect(hexToIpv4('C0A85B94')).toBe('192.168.91.148');
    expect(hexToIpv4('0A00000B')).toBe('10.0.0.11');
    expect(splitHostPort('C0A85B94:0050', true)).toEqual({
      address: '192.168.91.148',
      port: 80,
      family: 'inet',
    });
    expect(splitHostPort('[2001:0db8:0091:0000:0000:0000:0000:0148]:01BB', true)).toEqual({
      address: '2001:db8:91::148',
      port: 443,
      family: 'inet6',
    });
    expect(splitHostPort('[fd00:81::142]:80', false)).toEqual({
      address: 'fd00:81::142',
      port: 80,
      family: 'inet6',
    });
    expect(splitHostPort('300.1.1.1:80', false)).toBeNull();
    expect(splitHostPort('10.0.0.1:99999', false)).toBeNull();
  });

  it('writes IPv6 the way inet_ntop does, so /proc and ipvsadm agree', () => {
    expect(canonicalIpv6('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIpv6('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
  });

  it('reads exact and rounded print_largenum numbers', () => {
    expect(parseIpvsNumber('1224067521')).toEqual({ value: 1224067521, approximate: false });
    expect(parseIpvsNumber('1224M')).toEqual({ value: 1224e6, approximate: true });
    expect(parseIpvsNumber('2188G')).toEqual({ value: 2188e9, approximate: true });
    expect(parseIpvsNumber('12x')).toBeNull();
    expect(largenum(99_999_999, false)).toBe(' 99999999');
    expect(largenum(100_000_000, false)).toBe('  100000K');
    expect(largenum(1224067521, true)).toBe(' 1224067521');
  });
});

describe('ipvsadm 1.27 on EL7 (the seed lab)', () => {
  it('parses -Ln: NAT persistent, DR, TUN, UDP and a fwmark service with a mask', () => {
    const t = parseIpvsadmList(fixture(`${EL7}ipvsadm-Ln.txt`));
    expect(t.unparsed).toEqual([]);
    expect(t.version).toBe('1.2.1');
    expect(t.tableSize).toBe(4096);
    expect(t.services.map(serviceKey)).toEqual([
      'tcp:192.168.91.141:80',
      'tcp:192.168.91.148:80',
      'tcp:192.168.91.150:80',
      'udp:192.168.91.148:53',
      'fwmark:1',
    ]);
    const [nat, dr, tun, , fwm] = t.services;
    expect(nat).toMatchObject({ scheduler: 'wrr', persistence: 120, flags: [] });
    expect(nat?.destinations[0]).toEqual({
      address: '192.168.81.142',
      port: 80,
      family: 'inet',
      forward: 'masq',
      weight: 1,
      activeConns: 12,
      inactiveConns: 148,
    });
    expect(dr?.persistence).toBeNull();
    expect(dr?.destinations.map((d) => d.forward)).toEqual(['route', 'route']);
    expect(tun?.destinations.map((d) => [d.forward, d.weight])).toEqual([
      ['tunnel', 1],
      ['tunnel', 2],
    ]);
    expect(fwm).toMatchObject({
      protocol: 'fwmark',
      fwmark: 1,
      scheduler: 'wlc',
      persistence: 300,
      persistenceMask: '255.255.255.0',
    });
    expect(fwm?.destinations[1]).toMatchObject({ address: '192.168.91.147', port: 0, weight: 0 });
  });

  it('parses --stats --exact, including 10-digit byte counters', () => {
    const t = parseIpvsadmStats(fixture(`${EL7}ipvsadm-Ln-stats-exact.txt`));
    expect(t.unparsed).toEqual([]);
    expect(t.approximate).toBe(false);
    const dr = t.services[1];
    expect(dr?.counters).toEqual({
      conns: 2567818,
      inPkts: 18010956,
      outPkts: 0,
      inBytes: 1224067521,
      outBytes: 0,
    });
    expect(dr?.destinations[0]?.counters).toEqual({
      conns: 1283911,
      inPkts: 9012844,
      outPkts: 0,
      inBytes: 612477203,
      outBytes: 0,
    });
    expect(t.services[4]?.destinations[1]?.counters?.conns).toBe(187024);
  });

  it('parses --stats without --exact and says the numbers are rounded', () => {
    const t = parseIpvsadmStats(fixture(`${EL7}ipvsadm-Ln-stats.txt`));
    expect(t.approximate).toBe(true);
    expect(t.services[1]?.counters?.inBytes).toBe(1224e6);
    expect(t.services[0]?.destinations[0]?.counters?.outBytes).toBe(402216e3);
  });

  it('parses --rate --exact', () => {
    const t = parseIpvsadmRate(fixture(`${EL7}ipvsadm-Ln-rate-exact.txt`));
    expect(t.unparsed).toEqual([]);
    expect(t.services[0]?.rates).toEqual({
      cps: 27,
      inPps: 192,
      outPps: 168,
      inBps: 15764,
      outBps: 233515,
    });
    expect(t.services[0]?.destinations[1]?.rates).toEqual({
      cps: 13,
      inPps: 95,
      outPps: 83,
      inBps: 7803,
      outBps: 115391,
    });
  });

  it('sets aside a /proc/net/ip_vs server line with too few or too many numbers, or a bad one', () => {
    const text = fixture(`${DEBIAN12}proc-net-ip_vs.txt`);
    const line = text.split('\n').find((l) => l.trim().startsWith('-> ') && !l.includes('Remote'));
    expect(line).toBeDefined();
    const good = line as string;
    const bad = [`${good} 7`, good.replace(/\s+\d+\s*$/, ''), good.replace(/\s+\d+\s*$/, ' 1.5')];
    for (const b of bad) {
      const t = parseProcIpVs(text.replace(good, b), 250);
      expect(t.unparsed, b).toEqual([b]);
    }
    expect(parseProcIpVs(text, 250).unparsed).toEqual([]);
  });

  it('parses /proc/net/ip_vs into the same table as ipvsadm -Ln', () => {
    // EL7's kernel has HZ=1000.
    const proc = parseProcIpVs(fixture(`${EL7}proc-net-ip_vs.txt`), 1000);
    const list = parseIpvsadmList(fixture(`${EL7}ipvsadm-Ln.txt`));
    expect(proc.unparsed).toEqual([]);
    expect(proc.services).toEqual(list.services);
  });

  it('parses /proc/net/ip_vs_stats (hex)', () => {
    expect(parseProcIpVsStats(fixture(`${EL7}proc-net-ip_vs_stats.txt`))).toEqual({
      totals: {
        conns: 0x31aa58,
        inPkts: 0x14b84b2,
        outPkts: 0x8d531,
        inBytes: 0x5954c5d5,
        outBytes: 0x2fe4c9b7,
      },
      rates: { cps: 0x83, inPps: 0x357, outPps: 0xa8, inBps: 0xefb0, outBps: 0x3902b },
    });
    expect(parseProcIpVsStats('nonsense')).toBeNull();
  });
});

describe('ipvsadm 1.31 on Debian 12 / EL9', () => {
  it('parses scheduler flags, ops, IPv6 services and IPv6 fwmark services', () => {
    const t = parseIpvsadmList(fixture(`${DEBIAN12}ipvsadm-Ln.txt`));
    expect(t.unparsed).toEqual([]);
    expect(t.services.map(serviceKey)).toEqual([
      'tcp:203.0.113.10:443',
      'udp:203.0.113.10:53',
      'tcp:[2001:db8:91::148]:80',
      'fwmark6:10',
    ]);
    expect(t.services[0]).toMatchObject({
      scheduler: 'sh',
      flags: ['sh-fallback', 'sh-port'],
      persistence: null,
    });
    expect(t.services[0]?.destinations[2]).toMatchObject({
      address: '10.0.0.13',
      forward: 'tunnel',
      weight: 2,
      activeConns: 70,
    });
    expect(t.services[1]).toMatchObject({ scheduler: 'rr', flags: ['ops'] });
    expect(t.services[2]).toMatchObject({
      family: 'inet6',
      address: '2001:db8:91::148',
      port: 80,
      persistence: 600,
    });
    expect(t.services[2]?.destinations[0]).toMatchObject({
      address: 'fd00:81::142',
      family: 'inet6',
      forward: 'masq',
      weight: 3,
    });
    expect(t.services[3]).toMatchObject({
      protocol: 'fwmark',
      family: 'inet6',
      fwmark: 10,
      scheduler: 'lc',
    });
  });

  it('parses 64-bit counters past 2^32 and IPv6 names that overflow the columns', () => {
    const t = parseIpvsadmStats(fixture(`${DEBIAN12}ipvsadm-Ln-stats-exact.txt`));
    expect(t.unparsed).toEqual([]);
    expect(t.services[0]?.counters).toEqual({
      conns: 3646183253,
      inPkts: 25618696042,
      outPkts: 0,
      inBytes: 2188062572121,
      outBytes: 0,
    });
    expect(t.services[3]?.destinations[1]?.counters?.inBytes).toBe(10731877);
    const rounded = parseIpvsadmStats(fixture(`${DEBIAN12}ipvsadm-Ln-stats.txt`));
    expect(rounded.services[0]?.counters?.inBytes).toBe(2188e9);
  });

  it('reads /proc/net/ip_vs with full-length IPv6 and infers the fwmark family from its servers', () => {
    const proc = parseProcIpVs(fixture(`${DEBIAN12}proc-net-ip_vs.txt`), 250);
    const list = parseIpvsadmList(fixture(`${DEBIAN12}ipvsadm-Ln.txt`));
    expect(proc.unparsed).toEqual([]);
    // /proc cannot show scheduler flags (sh-port) or the persistence engine; the rest matches.
    const strip = (t: typeof list) =>
      t.services.map((s) => ({ ...s, flags: s.flags?.filter((f) => f === 'ops') }));
    expect(strip(proc)).toEqual(strip(list));
  });

  it('joins the table, the stats and the rates into one snapshot', () => {
    const snap = buildSnapshot({
      takenAt: 0,
      host: 'h',
      source: 'fixture',
      table: parseProcIpVs(fixture(`${DEBIAN12}proc-net-ip_vs.txt`), 250),
      stats: parseIpvsadmStats(fixture(`${DEBIAN12}ipvsadm-Ln-stats-exact.txt`)),
      rates: parseIpvsadmRate(fixture(`${DEBIAN12}ipvsadm-Ln-rate-exact.txt`)),
      ipvsStats: parseProcIpVsStats(fixture(`${DEBIAN12}proc-net-ip_vs_stats.txt`)),
      director,
    });
    const all = snap.services.flatMap((s) => s.destinations);
    expect(all).toHaveLength(9);
    expect(all.every((d) => d.counters !== null && d.kernelRates)).toBe(true);
    const v6 = snap.services.find((s) => s.key === 'tcp:[2001:db8:91::148]:80');
    expect(v6?.destinations[0]?.key).toBe(
      destinationKey('tcp:[2001:db8:91::148]:80', {
        address: 'fd00:81::142',
        port: 80,
        family: 'inet6',
      }),
    );
    expect(v6?.destinations[0]?.counters?.outBytes).toBe(612287341);
    expect(snap.totals?.conns).toBe(0xd9bb4a1c);
  });
});

describe('matching each server with its own counters', () => {
  it('finds them in any order the stats list them (same, reversed as ipvsadm sorts, shuffled)', () => {
    const counters = (n: number) => ({
      conns: n,
      inPkts: n * 2,
      outPkts: 0,
      inBytes: n * 3,
      outBytes: 0,
    });
    const service = (dests: { address: string; port: number }[], withCounters: boolean) => ({
      protocol: 'tcp' as const,
      family: 'inet' as const,
      address: '10.9.0.1',
      port: 80,
      fwmark: null,
      destinations: dests.map((d) => ({
        ...d,
        family: 'inet' as const,
        ...(withCounters
          ? { counters: counters(d.port * 1000 + Number(d.address.split('.')[3])) }
          : {}),
      })),
    });
    const table = (services: ReturnType<typeof service>[], kind: 'proc' | 'stats') => ({
      kind,
      version: null,
      tableSize: null,
      services,
      approximate: false,
      unparsed: [],
    });
    const dest = fc.record({
      address: fc.integer({ min: 1, max: 60 }).map((n) => `10.0.0.${n}`),
      port: fc.constantFrom(80, 81),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(dest, {
          minLength: 1,
          maxLength: 12,
          selector: (d) => `${d.address}|${d.port}`,
        }),
        fc.constantFrom('same', 'reversed', 'shuffled'),
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        (dests, order, noise) => {
          const listed =
            order === 'same'
              ? dests
              : order === 'reversed'
                ? [...dests].reverse()
                : dests
                    .map((d, i) => ({ d, k: noise[i] ?? 0 }))
                    .sort((a, b) => a.k - b.k)
                    .map((x) => x.d);
          const proc = table([service(dests, false)], 'proc');
          const stats = table([service(listed, true)], 'stats');
          const reuse = new SnapshotReuse();
          for (let round = 0; round < 2; round++) {
            const snap = buildSnapshot({
              takenAt: round,
              host: 'h',
              source: 'fixture',
              table: proc,
              stats,
              director,
              reuse,
            });
            const got = snap.services[0]?.destinations ?? [];
            expect(got).toHaveLength(dests.length);
            for (const d of got)
              expect(d.counters?.conns, `${d.address}:${d.port} (${order})`).toBe(
                d.port * 1000 + Number(d.address.split('.')[3]),
              );
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('ipvsadm 1.31 and kernel 6.1, captured in the lab', () => {
  const list = parseIpvsadmList(fixture(`${LAB}ipvsadm-Ln.txt`));
  const stats = parseIpvsadmStats(fixture(`${LAB}ipvsadm-Ln-stats-exact.txt`));

  it('reads every line of every capture', () => {
    expect(list.unparsed).toEqual([]);
    expect(stats.unparsed).toEqual([]);
    expect(parseIpvsadmRate(fixture(`${LAB}ipvsadm-Ln-rate-exact.txt`)).unparsed).toEqual([]);
    expect(parseProcIpVs(fixture(`${LAB}proc-net-ip_vs.txt`), 250).unparsed).toEqual([]);
  });

  it('parses flags, persistence, IPv6, fwmark services and the local client traffic', () => {
    const byKey = new Map(list.services.map((s) => [serviceKey(s), s]));
    expect(list.services.map((s) => serviceKey(s))).toHaveLength(6);
    const local = list.services.find((s) => s.port === 8081);
    expect(local).toMatchObject({ scheduler: 'wrr', persistence: 120 });
    expect(local?.destinations[0]).toMatchObject({
      address: '192.168.91.141',
      forward: 'masq',
      weight: 3,
      inactiveConns: 61,
    });
    const sh = list.services.find((s) => s.scheduler === 'sh');
    expect(sh?.flags).toEqual(['sh-fallback', 'sh-port']);
    expect(sh?.destinations.map((d) => d.forward)).toEqual(['route', 'tunnel']);
    expect(list.services.find((s) => s.protocol === 'udp')?.flags).toEqual(['ops']);
    const v6 = list.services.find((s) => s.address === '2001:db8:91::148');
    expect(v6?.destinations.map((d) => d.weight)).toEqual([3, 0]);
    const fwm = list.services.filter((s) => s.protocol === 'fwmark');
    expect(fwm.map((s) => s.fwmark)).toEqual([1, 10]);
    expect(byKey.size).toBe(6);
    const counted = stats.services.find((s) => s.port === 8081);
    expect(counted?.counters).toEqual({
      conns: 61,
      inPkts: 366,
      outPkts: 245,
      inBytes: 24583,
      outBytes: 21463,
    });
    // The kernel's totals agree with the only service that had traffic.
    expect(parseProcIpVsStats(fixture(`${LAB}proc-net-ip_vs_stats.txt`))?.totals).toEqual(
      counted?.counters,
    );
  });

  it('/proc/net/ip_vs (hash order, servers newest first) holds the same table as ipvsadm -Ln', () => {
    // Debian's kernel has HZ=250: /proc says `persistent 30000` where ipvsadm says 120.
    const proc = parseProcIpVs(fixture(`${LAB}proc-net-ip_vs.txt`), 250);
    // /proc has no scheduler flags but ops; order by key, as the monitor's own sort does.
    const norm = (t: typeof list) =>
      t.services
        .map((s) => ({
          ...s,
          flags: s.flags?.filter((f) => f === 'ops'),
          destinations: [...s.destinations].sort((a, b) =>
            destinationKey(serviceKey(s), a).localeCompare(destinationKey(serviceKey(s), b)),
          ),
        }))
        .sort((a, b) => serviceKey(a).localeCompare(serviceKey(b)));
    expect(norm(proc)).toEqual(norm(list));
  });
});

describe('format and parse agree', () => {
  const HZ: Record<string, number> = { [EL7]: 1000, [DEBIAN12]: 250, [LAB]: 250 };
  for (const dir of [EL7, DEBIAN12, LAB]) {
    it(`reprints the ${dir} fixtures byte for byte`, () => {
      const table = parseIpvsadmList(fixture(`${dir}ipvsadm-Ln.txt`));
      const snap = buildSnapshot({
        takenAt: 0,
        host: 'h',
        source: 'fixture',
        table,
        stats: parseIpvsadmStats(fixture(`${dir}ipvsadm-Ln-stats-exact.txt`)),
        rates: parseIpvsadmRate(fixture(`${dir}ipvsadm-Ln-rate-exact.txt`)),
        director,
      });
      expect(formatIpvsadmList(snap)).toBe(fixture(`${dir}ipvsadm-Ln.txt`));
      expect(formatIpvsadmStats(snap, { exact: true })).toBe(
        fixture(`${dir}ipvsadm-Ln-stats-exact.txt`),
      );
      expect(formatIpvsadmStats(snap, { exact: false })).toBe(
        fixture(`${dir}ipvsadm-Ln-stats.txt`),
      );
      expect(formatIpvsadmRate(snap, { exact: true })).toBe(
        fixture(`${dir}ipvsadm-Ln-rate-exact.txt`),
      );
      // A real /proc lists services in hash order and servers newest first: the lab capture is
      // compared as a table above instead.
      if (dir !== LAB)
        expect(formatProcIpVs(snap, { hz: HZ[dir] })).toBe(fixture(`${dir}proc-net-ip_vs.txt`));
      const stats = parseProcIpVsStats(fixture(`${dir}proc-net-ip_vs_stats.txt`));
      expect(stats && formatProcIpVsStats(stats.totals, stats.rates)).toBe(
        fixture(`${dir}proc-net-ip_vs_stats.txt`),
      );
    });
  }

  it('round-trips any table through every format (property)', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
    const ipv6 = fc
      .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
      .map((g) => canonicalIpv6(g.map((x) => x.toString(16)).join(':')));
    const counter = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    const counters = fc.record({
      conns: counter,
      inPkts: counter,
      outPkts: counter,
      inBytes: counter,
      outBytes: counter,
    });
    const service = fc
      .record({
        family: fc.constantFrom('inet' as const, 'inet6' as const),
        protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'fwmark' as const),
        port: fc.integer({ min: 0, max: 65535 }),
        fwmark: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        scheduler: fc.constantFrom('rr', 'wrr', 'lc', 'wlc', 'sh', 'mh'),
        persistence: fc.option(fc.integer({ min: 1, max: 2678400 }), { nil: null }),
        counters,
        v4: ipv4,
        v6: ipv6,
        dests: fc.array(
          fc.record({
            v4: ipv4,
            v6: ipv6,
            port: fc.integer({ min: 0, max: 65535 }),
            weight: fc.integer({ min: 0, max: 65535 }),
            forward: fc.constantFrom('masq' as const, 'route' as const, 'tunnel' as const),
            active: fc.nat(),
            inactive: fc.nat(),
            counters,
          }),
          { maxLength: 4 },
        ),
      })
      .map((r): ServiceSnapshot => {
        const base = {
          protocol: r.protocol,
          family: r.family,
          address: r.protocol === 'fwmark' ? '' : r.family === 'inet6' ? r.v6 : r.v4,
          port: r.protocol === 'fwmark' ? 0 : r.port,
          fwmark: r.protocol === 'fwmark' ? r.fwmark : null,
        };
        const key = serviceKey(base);
        const seen = new Set<string>();
        const destinations = r.dests
          .map((d) => ({
            address: r.family === 'inet6' ? d.v6 : d.v4,
            port: d.port,
            family: r.family,
            d,
          }))
          .filter((d) => !seen.has(`${d.address}|${d.port}`) && seen.add(`${d.address}|${d.port}`))
          .map(({ address, port, family, d }) => ({
            key: destinationKey(key, { address, port, family }),
            address,
            port,
            family,
            forward: d.forward,
            weight: d.weight,
            activeConns: d.active,
            inactiveConns: d.inactive,
            counters: d.counters,
          }));
        return {
          ...base,
          key,
          scheduler: r.scheduler,
          persistence: r.persistence,
          flags: [],
          counters: r.counters,
          destinations,
        };
      });
    fc.assert(
      fc.property(fc.array(service, { maxLength: 4 }), (services) => {
        const unique = [...new Map(services.map((s) => [s.key, s])).values()];
        const snap = { services: unique };
        const list = parseIpvsadmList(formatIpvsadmList(snap));
        const stats = parseIpvsadmStats(formatIpvsadmStats(snap, { exact: true }));
        expect(list.unparsed).toEqual([]);
        expect(stats.unparsed).toEqual([]);
        expect(list.services.map(serviceKey)).toEqual(unique.map((s) => s.key));
        expect(stats.services.map((s) => s.counters)).toEqual(unique.map((s) => s.counters));
        expect(stats.services.flatMap((s) => s.destinations.map((d) => d.counters))).toEqual(
          unique.flatMap((s) => s.destinations.map((d) => d.counters)),
        );
        expect(
          list.services.flatMap((s) =>
            s.destinations.map((d) => [d.address, d.port, d.weight, d.forward]),
          ),
        ).toEqual(
          unique.flatMap((s) =>
            s.destinations.map((d) => [d.address, d.port, d.weight, d.forward]),
          ),
        );
        // /proc has no family on FWM lines and infers it from IPv6 servers, so compare the rest.
        const proc = parseProcIpVs(formatProcIpVs(snap), DEFAULT_HZ);
        expect(proc.unparsed).toEqual([]);
        expect(
          proc.services.flatMap((s) => s.destinations.map((d) => [d.address, d.port, d.weight])),
        ).toEqual(unique.flatMap((s) => s.destinations.map((d) => [d.address, d.port, d.weight])));
      }),
      { numRuns: 200 },
    );
  });

  it('puts lines it does not understand aside instead of guessing', () => {
    const t = parseIpvsadmListing(
      'Prot LocalAddress:Port Scheduler Flags\nTCP  not-an-address wrr\n  -> 10.0.0.1:80 Route 1 0 0\n',
    );
    expect(t.services).toEqual([]);
    expect(t.unparsed).toHaveLength(2);
    expect(() => parseIpvsadmStats(fixture(`${EL7}ipvsadm-Ln.txt`))).toThrow(
      /expected ipvsadm stats/,
    );
  });
});

describe('local addresses from /proc (captured in a lab guest with ip -j addr at the same time)', () => {
  const lab = (f: string) =>
    readFileSync(new URL(`../fixtures/proc-net/debian12-lab/${f}`, import.meta.url), 'utf8');
  const fromIp = parseIpJsonAddr(lab('ip-j-addr.json')).flatMap((n) =>
    n.addresses.map((a) => (a.address.includes(':') ? canonicalIpv6(a.address) : a.address)),
  );

  it('fib_trie gives exactly the IPv4 addresses ip -j addr lists (aliases and /32s on lo too)', () => {
    const v4 = parseFibTrieLocal(lab('fib_trie'));
    expect(new Set(v4)).toEqual(new Set(fromIp.filter((a) => !a.includes(':'))));
    expect(v4).toContain('10.0.0.100');
    expect(v4).toContain('192.168.91.148');
    expect(v4).not.toContain('10.0.0.255');
    expect(v4).not.toContain('127.0.0.0');
  });

  it('if_inet6 gives exactly the IPv6 addresses ip -j addr lists, skipping failed DAD', () => {
    const v6 = parseIfInet6(lab('if_inet6'));
    expect(new Set(v6)).toEqual(new Set(fromIp.filter((a) => a.includes(':'))));
    expect(v6).toContain('fd00::100');
    const failed = 'fd000000000000000000000000000200 02 40 00 88    ens33\n';
    expect(parseIfInet6(failed)).toEqual([]);
  });
});

describe('parsing again with LineReuse (the monitor, every second)', () => {
  const dirs = [DEBIAN12, 'debian12-lab/', 'el7-ipvsadm-1.27/'];
  const procTexts = dirs.map((d) => fixture(`${d}proc-net-ip_vs.txt`));
  const statsTexts = dirs.flatMap((d) => [
    fixture(`${d}ipvsadm-Ln-stats-exact.txt`),
    fixture(`${d}ipvsadm-Ln-stats.txt`),
  ]);
  /** Edits of a text's lines: what changes between two readings, and worse. */
  const edit = fc.oneof(
    fc.record({
      op: fc.constant('digit' as const),
      at: fc.nat(),
      d: fc.integer({ min: 0, max: 9 }),
    }),
    fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('repeat' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('swap' as const), at: fc.nat(), to: fc.nat() }),
  );
  function apply(
    text: string,
    edits: readonly { op: string; at: number; d?: number; to?: number }[],
  ): string {
    const lines = text.split('\n');
    for (const e of edits) {
      const i = e.at % lines.length;
      const line = lines[i] ?? '';
      if (e.op === 'digit') {
        const m = /\d/g;
        const spots = [...line.matchAll(m)].map((x) => x.index ?? 0);
        const at = spots[(e.d ?? 0) % Math.max(1, spots.length)];
        if (at !== undefined) lines[i] = `${line.slice(0, at)}${e.d}${line.slice(at + 1)}`;
      } else if (e.op === 'drop') lines.splice(i, 1);
      else if (e.op === 'repeat') lines.splice(i, 0, line);
      else {
        const j = (e.to ?? 0) % lines.length;
        [lines[i], lines[j]] = [lines[j] ?? '', line];
      }
    }
    return lines.join('\n');
  }
  const readings = (texts: string[]) =>
    fc.array(
      fc.record({
        base: fc.nat({ max: texts.length - 1 }),
        edits: fc.array(edit, { maxLength: 4 }),
      }),
      { minLength: 2, maxLength: 6 },
    );

  it('gives what a fresh parse gives, reading after reading, whatever changed', () => {
    fc.assert(
      fc.property(readings(procTexts), readings(statsTexts), (procs, stats) => {
        const procReuse = new LineReuse<ParsedDestination>();
        const statsReuse = listingReuse();
        for (const r of procs) {
          const text = apply(procTexts[r.base] ?? '', r.edits);
          expect(parseProcIpVs(text, 250, procReuse)).toEqual(parseProcIpVs(text, 250));
        }
        for (const r of stats) {
          const text = apply(statsTexts[r.base] ?? '', r.edits);
          expect(parseIpvsadmListing(text, statsReuse)).toEqual(parseIpvsadmListing(text));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('builds the same snapshots with SnapshotReuse, reading after reading', () => {
    const deb = DEBIAN12;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            proc: fc.array(edit, { maxLength: 3 }),
            stats: fc.array(edit, { maxLength: 3 }),
          }),
          { minLength: 2, maxLength: 5 },
        ),
        (readings) => {
          const procReuse = new LineReuse<ParsedDestination>();
          const statsReuse = listingReuse();
          const reuse = new SnapshotReuse();
          for (const r of readings) {
            const proc = apply(fixture(`${deb}proc-net-ip_vs.txt`), r.proc);
            const stats = apply(fixture(`${deb}ipvsadm-Ln-stats-exact.txt`), r.stats);
            const input = {
              takenAt: 1,
              host: 'h',
              source: 'ipvs' as const,
              director: { vrrp: 'none' as const, keepalived: false, vipsPresent: [] },
            };
            const reused = buildSnapshot({
              ...input,
              table: parseProcIpVs(proc, 250, procReuse),
              stats: parseIpvsadmListing(stats, statsReuse),
              reuse,
            });
            const fresh = buildSnapshot({
              ...input,
              table: parseProcIpVs(proc, 250),
              stats: parseIpvsadmListing(stats),
            });
            expect(reused).toEqual(fresh);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keeps the snapshot objects of unchanged servers; health makes new ones', () => {
    const deb = DEBIAN12;
    const proc = fixture(`${deb}proc-net-ip_vs.txt`);
    const procReuse = new LineReuse<ParsedDestination>();
    const reuse = new SnapshotReuse();
    const build = (text: string) =>
      buildSnapshot({
        takenAt: 1,
        host: 'h',
        source: 'ipvs',
        director: { vrrp: 'none', keepalived: false, vipsPresent: [] },
        table: parseProcIpVs(text, 250, procReuse),
        reuse,
      });
    const a = build(proc);
    const lines = proc.split('\n');
    const at = lines.findIndex((l) => /^\s+->\s+[0-9A-F]/.test(l));
    lines[at] = (lines[at] ?? '').replace(/(\d+)\s*$/, (n) => String(Number(n) + 1));
    const b = build(lines.join('\n'));
    const all = (x: typeof a) => x.services.flatMap((s) => s.destinations);
    const changed = all(b).filter((d, i) => d !== all(a)[i]);
    expect(changed).toHaveLength(1);
    expect(changed[0]?.inactiveConns).toBe(
      (all(a).find((d) => d.key === changed[0]?.key)?.inactiveConns ?? 0) + 1,
    );
    // a service none of whose servers changed keeps its (sorted) list
    const untouched = b.services.findIndex((s) => !s.destinations.includes(changed[0]!));
    expect(b.services[untouched]?.destinations).toBe(a.services[untouched]?.destinations);
    // health is put on copies: the earlier reading still says what it said
    const list = b.services[untouched]?.destinations ?? [];
    const marked = withHealth(list, () => 'down');
    expect(marked).not.toBe(list);
    expect(marked.every((d) => d.health === 'down')).toBe(true);
    expect(list.some((d) => d.health === 'down')).toBe(false);
    expect(withHealth(marked, () => 'down')).toBe(marked);
  });

  it('shares the servers whose lines did not change, and parses the changed ones', () => {
    const text = fixture(`${DEBIAN12}proc-net-ip_vs.txt`);
    const reuse = new LineReuse<ParsedDestination>();
    const a = parseProcIpVs(text, 250, reuse);
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.trimStart().startsWith('->') && !l.includes('Remote'));
    // one more inactive connection on the first server
    lines[at] = (lines[at] ?? '').replace(/(\d+)\s*$/, (n) => String(Number(n) + 1));
    const b = parseProcIpVs(lines.join('\n'), 250, reuse);
    const first = (t: typeof a) => t.services[0]?.destinations[0];
    expect(first(b)).not.toBe(first(a));
    expect((first(b)?.inactiveConns ?? 0) - (first(a)?.inactiveConns ?? 0)).toBe(1);
    const rest = (t: typeof a) => t.services.flatMap((s) => s.destinations).slice(1);
    expect(rest(b).length).toBeGreaterThan(2);
    rest(b).forEach((d, i) => expect(d).toBe(rest(a)[i]));
    // services are new each time: they gather the destinations
    expect(b.services[0]).not.toBe(a.services[0]);
  });

  it('keeps the "rounded numbers" mark of a reused line (ipvsadm without --exact)', () => {
    // only one server's line is rounded (its service's line is exact)
    const lines = fixture(`${DEBIAN12}ipvsadm-Ln-stats-exact.txt`).split('\n');
    const at = lines.findIndex((l) => /^\s+->\s+\d/.test(l));
    lines[at] = (lines[at] ?? '').replace(/\d+\s*$/, '12K');
    const text = lines.join('\n');
    const reuse = listingReuse();
    expect(parseIpvsadmListing(text, reuse).approximate).toBe(true);
    expect(parseIpvsadmListing(text, reuse).approximate).toBe(true);
    expect(parseIpvsadmListing(text.replace('12K', '12000'), reuse).approximate).toBe(false);
  });
});

describe('isDottedQuad (the IPv4 check of the parsers)', () => {
  it("accepts exactly what ipaddr.js's isValidFourPartDecimal accepts", () => {
    const part = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.constantFrom('0', '255', '256'),
      fc.constantFrom('00', '01', '010', '0x1', '1e2', '', ' 1', '256', '999', '1000', '-1', '+1'),
    );
    const host = fc.oneof(
      fc.array(part, { minLength: 4, maxLength: 4 }).map((p) => p.join('.')),
      fc.array(part, { minLength: 1, maxLength: 5 }).map((p) => p.join('.')),
      fc.string({ maxLength: 16 }),
      fc.constantFrom('10.0.0.1', '255.255.255.255', '0.0.0.0', '1.2.3.4.', '.1.2.3', '1..2.3'),
    );
    fc.assert(
      fc.property(host, (h) => isDottedQuad(h) === ipaddr.IPv4.isValidFourPartDecimal(h)),
      { numRuns: 5000 },
    );
  });
});
