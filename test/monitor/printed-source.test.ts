import { describe, expect, it } from 'vitest';
import { setWeightActions } from '../../source/monitor/actions.js';
import { createDemoSource, parseDemoScale } from '../../source/monitor/demo.js';
import type { Snapshot } from '../../source/monitor/model.js';
import { printedSource } from '../../source/monitor/printed-source.js';
import {
  computeRates,
  EMPTY_HISTORY,
  historyOf,
  pushHistory,
  TOTAL_KEY,
  type History,
} from '../../source/monitor/rates.js';

/** What a reading says about the table, without where it came from. */
function tableOf(s: Snapshot) {
  return {
    totals: s.totals,
    services: s.services.map((svc) => ({
      key: svc.key,
      scheduler: svc.scheduler,
      persistence: svc.persistence,
      counters: svc.counters,
      destinations: svc.destinations.map((d) => ({
        key: d.key,
        forward: d.forward,
        weight: d.weight,
        activeConns: d.activeConns,
        inactiveConns: d.inactiveConns,
        counters: d.counters,
        health: d.health,
      })),
    })),
  };
}

describe('LVS_SETUP_DEMO_SCALE', () => {
  it('reads services x servers per service', () => {
    expect(parseDemoScale('100x10')).toEqual({ services: 100, serversPerService: 10 });
    expect(parseDemoScale(' 3 × 2 ')).toEqual({ services: 3, serversPerService: 2 });
    expect(parseDemoScale('7*1')).toEqual({ services: 7, serversPerService: 1 });
  });

  it('refuses anything else', () => {
    for (const bad of ['', '100', 'x10', '0x10', '10x0', '10x241', '10001x1', '1.5x2', '-1x2'])
      expect(parseDemoScale(bad), bad).toBeNull();
  });
});

describe('printedSource', () => {
  it('reads the same table as the demo it prints, through the real parsers', async () => {
    let t = 1_000_000;
    const now = () => t;
    const scale = { services: 12, serversPerService: 7 };
    const direct = createDemoSource({ seed: 5, now, scale });
    const printed = printedSource(createDemoSource({ seed: 5, now, scale }));
    expect(printed.kind).toContain('printed');
    for (let i = 0; i < 3; i++) {
      t += 1000;
      const a = await direct.read();
      const b = await printed.read();
      expect(b.services).toHaveLength(12);
      expect(b.services.every((s) => s.destinations.length === 7)).toBe(true);
      expect(tableOf(b)).toEqual(tableOf(a));
      expect(b.director).toEqual(a.director);
      // Only the first reading asks ipvsadm for --rate, as the real source does.
      expect(b.services[0]?.kernelRates !== undefined).toBe(i === 0);
    }
  });

  it('passes changes on to the simulation', async () => {
    const t = 5_000;
    const inner = createDemoSource({ seed: 2, now: () => t });
    const printed = printedSource(inner);
    const before = await printed.read();
    const svc = before.services[0];
    const dest = svc?.destinations[0];
    if (!svc || !dest) throw new Error('the demo has no server');
    expect(printed.apply).toBeTypeOf('function');
    await printed.apply?.(setWeightActions(svc, dest, 0, dest.weight));
    const after = await printed.read();
    const moved = after.services[0]?.destinations.find((d) => d.key === dest.key);
    expect(moved?.weight).toBe(0);
  });
});

describe('sparkline history at scale', () => {
  it('keeps each key in its own column while servers come and go', async () => {
    let t = 0;
    const source = createDemoSource({
      seed: 9,
      now: () => t,
      scale: { services: 3, serversPerService: 40 },
    });
    let prev: Snapshot | null = null;
    let history: History = EMPTY_HISTORY;
    const seen: number[] = [];
    let columnsSeen = 0;
    for (let i = 0; i < 80; i++) {
      t += 1000;
      const s = await source.read();
      // Service 0's servers get new names at every reading (3,200 keys that leave, enough for the
      // columns to be compacted); service 2's first server every tenth reading.
      const rename = (
        svc: Snapshot['services'][number],
        suffix: (di: number) => string | null,
      ) => ({
        ...svc,
        destinations: svc.destinations.map((d, di) => {
          const x = suffix(di);
          return x === null ? d : { ...d, key: `${d.key}#${x}` };
        }),
      });
      const renamed: Snapshot = {
        ...s,
        services: s.services.map((svc, si) =>
          si === 0
            ? rename(svc, () => String(i))
            : si === 2
              ? rename(svc, (di) => (di === 0 ? String(Math.floor(i / 10)) : null))
              : svc,
        ),
      };
      const rated = computeRates(prev, renamed);
      history = pushHistory(history, rated);
      columnsSeen = Math.max(columnsSeen, history.columns?.size ?? 0);
      prev = renamed;
      const d1 = rated.services[1]?.destinations[1];
      if (d1?.rates) seen.push(d1.rates.cps);
    }
    // Keys that left were dropped from the columns along the way, not kept for ever.
    // Without compaction: 40 × 80 renamed + 84 = 3,284 columns; with it, about 60 readings of them.
    expect(columnsSeen).toBeLessThan(3000);
    const stable = prev?.services[1]?.destinations[1]?.key ?? '';
    // A server in every reading: its last 60 samples, in order.
    expect(seen.length).toBeGreaterThan(60);
    expect(historyOf(history, stable)).toEqual(seen.slice(-60));
    // A server renamed at the last reading has one sample (the kernel's estimate: no delta yet).
    expect(historyOf(history, prev?.services[0]?.destinations[3]?.key ?? '')).toHaveLength(1);
    // The one renamed every tenth reading has the samples since its last rename (#7).
    const current = prev?.services[2]?.destinations[0]?.key ?? '';
    expect(current.endsWith('#7')).toBe(true);
    expect(historyOf(history, current)).toHaveLength(10);
    // A key that left the table has no line.
    expect(historyOf(history, `${current.slice(0, -2)}#6`)).toEqual([]);
    expect(historyOf(history, TOTAL_KEY)).toHaveLength(60);
  });
});
