import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { Counters, Snapshot } from '../../source/monitor/model.js';
import {
  parseIpvsadmRate,
  parseIpvsadmStats,
  parseProcIpVs,
  parseProcIpVsStats,
} from '../../source/monitor/parse.js';
import {
  computeRates,
  counterRates,
  countersTime,
  rateBase,
  EMPTY_HISTORY,
  HISTORY_LENGTH,
  historyOf,
  pushHistory,
  TOTAL_KEY,
  type History,
} from '../../source/monitor/rates.js';
import { buildSnapshot } from '../../source/monitor/snapshot.js';
import { fixture, tableSnapshot } from './helpers.js';

const EL7 = 'el7-ipvsadm-1.27/';
const director = { vrrp: 'none' as const, keepalived: false, vipsPresent: [] };

function el7(takenAt: number, later: boolean, withRates = false): Snapshot {
  return buildSnapshot({
    takenAt,
    host: 'lvs-145',
    source: 'fixture',
    table: parseProcIpVs(fixture(`${EL7}proc-net-ip_vs.txt`), 1000),
    stats: parseIpvsadmStats(
      fixture(`${EL7}ipvsadm-Ln-stats-exact${later ? '-1s-later' : ''}.txt`),
    ),
    rates: withRates ? parseIpvsadmRate(fixture(`${EL7}ipvsadm-Ln-rate-exact.txt`)) : null,
    ipvsStats: parseProcIpVsStats(
      fixture(`${EL7}proc-net-ip_vs_stats${later ? '-1s-later' : ''}.txt`),
    ),
    director,
  });
}

const c = (conns: number, inPkts = 0, outPkts = 0, inBytes = 0, outBytes = 0): Counters => ({
  conns,
  inPkts,
  outPkts,
  inBytes,
  outBytes,
});

describe('counterRates', () => {
  it('divides counter deltas by the interval', () => {
    expect(counterRates(c(100, 1000, 0, 50_000), c(130, 1600, 0, 80_000), 2)).toEqual({
      rates: { cps: 15, inPps: 300, outPps: 0, inBps: 15_000, outBps: 0 },
      reset: false,
    });
  });

  it('reports a reset (ipvsadm -Z, server re-added) and falls back to the kernel estimate', () => {
    const kernel = { cps: 7, inPps: 70, outPps: 0, inBps: 7000, outBps: 0 };
    expect(counterRates(c(5000, 9000), c(12, 80), 1, kernel)).toEqual({
      rates: kernel,
      reset: true,
    });
    expect(counterRates(c(5000, 9000), c(12, 80), 1)).toEqual({ rates: null, reset: true });
  });

  it('reads a 32-bit wrap of conns/packets (ipvsadm 1.27) as traffic, not as a reset', () => {
    const r = counterRates(c(2 ** 32 - 10, 2 ** 32 - 100), c(5, 50), 1);
    expect(r.reset).toBe(false);
    expect(r.rates?.cps).toBe(15);
    expect(r.rates?.inPps).toBe(150);
    // 64-bit bytes going backwards is always a reset.
    expect(counterRates(c(0, 0, 0, 2 ** 32 - 10), c(0, 0, 0, 5), 1).reset).toBe(true);
  });

  it('has no rates without two readings or time between them', () => {
    expect(counterRates(null, c(1), 1)).toEqual({ rates: null, reset: false });
    expect(counterRates(c(1), c(2), 0)).toEqual({ rates: null, reset: false });
  });
});

describe('computeRates on two recorded readings one second apart', () => {
  const first = el7(1_000_000, false, true);
  const second = el7(1_001_000, true);
  const rated = computeRates(first, second);

  it('gives per-server CPS and traffic from the counters', () => {
    expect(rated.intervalMs).toBe(1000);
    const nat = rated.services.find((s) => s.key === 'tcp:192.168.91.141:80');
    expect(nat?.destinations.map((d) => d.rates?.cps)).toEqual([14, 13]);
    expect(nat?.destinations[0]?.rates).toEqual({
      cps: 14,
      inPps: 97,
      outPps: 85,
      inBps: 7961,
      outBps: 118124,
    });
    expect(nat?.rates?.cps).toBe(27);
    const dr = rated.services.find((s) => s.key === 'tcp:192.168.91.148:80');
    expect(dr?.destinations.map((d) => d.rates?.outPps)).toEqual([0, 0]);
  });

  it('computes each server’s share of new connections', () => {
    const dr = rated.services.find((s) => s.key === 'tcp:192.168.91.148:80');
    expect(dr?.destinations.map((d) => Math.round(d.share * 1000) / 1000)).toEqual([0.506, 0.494]);
    const fwm = rated.services.find((s) => s.key === 'fwmark:1');
    expect(fwm?.destinations[1]?.share).toBe(0);
  });

  it('computes the totals from /proc/net/ip_vs_stats', () => {
    expect(rated.totalRates?.cps).toBe(0x31aadb - 0x31aa58);
  });

  it('uses the kernel estimate for the first reading', () => {
    const alone = computeRates(null, first);
    expect(alone.intervalMs).toBeNull();
    expect(alone.services[0]?.destinations[0]?.rates?.cps).toBe(14);
    expect(computeRates(null, el7(0, false)).services[0]?.destinations[0]?.rates).toBeNull();
  });

  it('survives counters zeroed between readings', () => {
    const zeroed = el7(1_002_000, false);
    for (const s of zeroed.services) {
      s.counters = c(0);
      for (const d of s.destinations) d.counters = c(1, 2, 0, 100, 0);
    }
    const r = computeRates(second, zeroed);
    expect(
      r.services.every((s) => s.reset && s.destinations.every((d) => d.reset && d.rates === null)),
    ).toBe(true);
    // ...and the next reading measures again.
    const after = structuredClone(zeroed);
    after.takenAt += 1000;
    for (const s of after.services) for (const d of s.destinations) d.counters = c(4, 8, 0, 400, 0);
    const again = computeRates(zeroed, after);
    expect(again.services[0]?.destinations[0]?.rates?.cps).toBe(3);
    expect(again.services[0]?.destinations[0]?.reset).toBe(false);
  });
});

describe('counters the kernel updates every 2 s, read every second', () => {
  // What the lab measured on kernel 6.1: the counters move only every 2 s. The real source then
  // repeats the last counters (countersAt earlier than takenAt) between two counter readings.
  const at = (t: number, later: boolean, countersAt?: number): Snapshot => {
    const s = el7(t, later);
    if (countersAt !== undefined) s.countersAt = countersAt;
    return s;
  };

  it("keeps the last window's rates between counter readings instead of 0 and double by turns", () => {
    const readings = [
      at(0, false),
      at(1000, false, 0), // repeats the counters read at 0
      at(2000, true), // new counters: 14 and 13 more connections over 2 s
      at(3000, true, 2000),
    ];
    let base: Snapshot | null = null;
    let latest: Snapshot | null = null;
    const cps: (number | undefined)[][] = [];
    for (const next of readings) {
      base = rateBase(base, latest, next);
      const rated = computeRates(base, next);
      const nat = rated.services.find((s) => s.key === 'tcp:192.168.91.141:80');
      cps.push(nat?.destinations.map((d) => d.rates?.cps) ?? []);
      latest = next;
    }
    expect(cps.slice(2)).toEqual([
      [7, 6.5],
      [7, 6.5],
    ]);
    expect(countersTime(readings[1] as Snapshot)).toBe(0);
  });

  it('measures nothing against a reading of the same counters (no interval to measure over)', () => {
    const repeat = computeRates(at(0, false), at(1000, false, 0));
    const nat = repeat.services.find((s) => s.key === 'tcp:192.168.91.141:80');
    // Same counter reading twice: no interval to measure over, so no counter rates at all.
    expect(nat?.destinations.map((d) => d.rates?.cps)).toEqual([undefined, undefined]);
  });
});

describe('history for sparklines', () => {
  it('keeps the last 60 samples per server, service and the total', () => {
    let history: History = EMPTY_HISTORY;
    let prev = el7(0, false);
    for (let i = 1; i <= 75; i++) {
      const next = structuredClone(prev);
      next.takenAt = i * 1000;
      for (const s of next.services)
        for (const d of s.destinations)
          d.counters = d.counters && { ...d.counters, conns: d.counters.conns + i };
      for (const s of next.services)
        s.counters = s.counters && { ...s.counters, conns: s.counters.conns + 2 * i };
      history = pushHistory(history, computeRates(prev, next));
      prev = next;
    }
    const key = prev.services[0]?.destinations[0]?.key ?? '';
    const series = historyOf(history, key);
    expect(series).toHaveLength(HISTORY_LENGTH);
    expect(series[0]).toBe(16);
    expect(series.at(-1)).toBe(75);
    expect(history.frames).toHaveLength(HISTORY_LENGTH);
    expect(historyOf(history, prev.services[0]?.key ?? '').at(-1)).toBe(150);
    expect(historyOf(history, TOTAL_KEY)).toHaveLength(HISTORY_LENGTH);
  });

  it('forgets servers that left the table and keeps history across a reading without rates', () => {
    const first = el7(0, false);
    const second = el7(1000, true);
    let history = pushHistory(EMPTY_HISTORY, computeRates(first, second));
    const gone = second.services[0]?.destinations[0]?.key ?? '';
    expect(historyOf(history, gone)).toHaveLength(1);
    const smaller = structuredClone(second);
    smaller.services[0]?.destinations.shift();
    history = pushHistory(history, computeRates(null, smaller));
    expect(historyOf(history, gone)).toEqual([]);
    expect(historyOf(history, second.services[1]?.destinations[0]?.key ?? '')).toHaveLength(1);
  });
});

describe('rating the same server snapshots again (a busy table with idle servers)', () => {
  it('gives an idle server the same rated object, and a moving one a new one', () => {
    const a = tableSnapshot({ takenAt: 1000 });
    // one second later: service 0 server 0 moved; every other server is the same object
    const moved = structuredClone(a.services[0]?.destinations[0]);
    if (!moved?.counters) throw new Error('no server');
    moved.counters = { ...moved.counters, conns: moved.counters.conns + 5 };
    const b: Snapshot = {
      ...a,
      takenAt: 2000,
      services: a.services.map((s, i) =>
        i === 0 ? { ...s, destinations: [moved, ...s.destinations.slice(1)] } : s,
      ),
    };
    const c: Snapshot = { ...b, takenAt: 3000 };
    const r1 = computeRates(a, b);
    const r2 = computeRates(b, c);
    const dests = (r: ReturnType<typeof computeRates>) => r.services.flatMap((s) => s.destinations);
    // service 1: nothing moved in either window, the same objects (rates all zero)
    expect(r2.services[1]?.destinations).toEqual(r1.services[1]?.destinations);
    r2.services[1]?.destinations.forEach((d, i) => expect(d).toBe(r1.services[1]?.destinations[i]));
    expect(r2.services[1]?.destinations[0]?.rates).toEqual({
      cps: 0,
      inPps: 0,
      outPps: 0,
      inBps: 0,
      outBps: 0,
    });
    // the server that moved: 5 new connections a second, then none
    expect(dests(r1)[0]?.rates?.cps).toBe(5);
    expect(dests(r1)[0]?.share).toBe(1);
    expect(dests(r2)[0]?.rates?.cps).toBe(0);
    expect(dests(r2)[0]).not.toBe(dests(r1)[0]);
    // its idle siblings' share changed (of connections now, none are new): new objects
    expect(dests(r1)[1]?.share).toBe(0);
    expect(dests(r2)[1]?.share).toBeGreaterThan(0);
    expect(dests(r2)[1]).not.toBe(dests(r1)[1]);
  });
});

describe('computeRates between counter readings', () => {
  it('rates a service whose servers did not change only once, and the same as anew', () => {
    const a = tableSnapshot({ takenAt: 1000, traffic: (i, j) => (i + 1) * (j + 1) });
    const b = tableSnapshot({ takenAt: 3000, traffic: (i, j) => 3 * (i + 1) * (j + 1) });
    const r1 = computeRates(a, b);
    // a reading 1 s later with the same counters (read at 3000) and, for service 0, one server's
    // connections changed (a new list); the other services' lists are the same arrays
    const changed = { ...b.services[0]!.destinations[0]!, activeConns: 99 };
    const mid: Snapshot = {
      ...b,
      takenAt: 4000,
      countersAt: 3000,
      services: b.services.map((s, i) =>
        i === 0 ? { ...s, destinations: [changed, ...s.destinations.slice(1)] } : { ...s },
      ),
    };
    const r2 = computeRates(rateBase(a, b, mid), mid);
    for (let i = 1; i < b.services.length; i++)
      expect(r2.services[i]?.destinations).toBe(r1.services[i]?.destinations);
    expect(r2.services[0]?.destinations).not.toBe(r1.services[0]?.destinations);
    expect(r2.services[0]?.destinations[0]?.activeConns).toBe(99);
    // and everything equals rating copies that no cache knows
    const fresh = computeRates(structuredClone(a), structuredClone(mid));
    expect(r2.services).toEqual(fresh.services);
    // the same lists against the same base over a longer interval: rated again, not reused
    const later = computeRates(a, { ...b, countersAt: 4000 });
    expect(later.services[1]?.destinations).not.toBe(r1.services[1]?.destinations);
    expect(later.services[1]?.destinations[0]?.rates?.cps).toBeCloseTo(
      ((r1.services[1]?.destinations[0]?.rates?.cps ?? 0) * 2) / 3,
    );
    // the next counters (another interval): rated again
    const c = tableSnapshot({ takenAt: 5000, traffic: (i, j) => 7 * (i + 1) * (j + 1) });
    const r3 = computeRates(mid, c);
    expect(r3.services[1]?.destinations).not.toBe(r2.services[1]?.destinations);
    expect(r3.services).toEqual(computeRates(structuredClone(mid), structuredClone(c)).services);
  });
});

describe('what computeRates keeps', () => {
  it('does not hold on to earlier readings (a monitor left open must not grow)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const refs: WeakRef<object>[] = [];
    let prev: Snapshot | null = null;
    let base: Snapshot | null = null;
    for (let t = 0; t < 30; t++) {
      // a new counter reading each time, and a reading between counter readings (as at 1 Hz)
      const next = tableSnapshot({ takenAt: 1000 + t * 2000, traffic: (i, j) => t * (i + j + 1) });
      const mid: Snapshot = { ...next, takenAt: next.takenAt + 1000, countersAt: next.takenAt };
      for (const s of [next, mid]) {
        base = rateBase(base, prev, s);
        computeRates(base, s);
        prev = s;
      }
      refs.push(new WeakRef(next.services[0]!.destinations));
    }
    await new Promise((r) => setTimeout(r, 0));
    gc();
    await new Promise((r) => setTimeout(r, 0));
    gc();
    // the first 20 readings are referenced by nothing the test keeps
    const kept = refs.slice(0, 20).filter((r) => r.deref() !== undefined).length;
    expect(kept).toBe(0);
    expect(prev).not.toBeNull();
  });
});
