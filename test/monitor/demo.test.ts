import { describe, expect, it } from 'vitest';
import {
  drainActions,
  setWeightActions,
  zeroCountersActions,
} from '../../source/monitor/actions.js';
import { createDemoSource } from '../../source/monitor/demo.js';
import { computeRates } from '../../source/monitor/rates.js';

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function readings(seed: number, steps: number) {
  const c = clock();
  const demo = createDemoSource({ seed, now: c.now });
  const out = [];
  for (let i = 0; i < steps; i++) {
    out.push(await demo.read());
    c.advance(1000);
  }
  return out;
}

describe('demo director', () => {
  it('is deterministic for a seed and a clock', async () => {
    const a = await readings(42, 20);
    const b = await readings(42, 20);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const other = await readings(43, 20);
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(a));
  });

  it('does not depend on how often it is read', async () => {
    const c1 = clock();
    const often = createDemoSource({ seed: 7, now: c1.now });
    for (let i = 0; i < 30; i++) {
      await often.read();
      c1.advance(250);
    }
    const c2 = clock();
    const rarely = createDemoSource({ seed: 7, now: c2.now });
    c2.advance(7500);
    expect(JSON.stringify(await often.read())).toBe(JSON.stringify(await rarely.read()));
  });

  it('has the lab: DR, NAT, TUN, fwmark and IPv6 services, keepalived as MASTER', async () => {
    const [s] = await readings(1, 1);
    expect(s?.services.map((x) => x.key)).toEqual([
      'tcp:192.168.91.141:80',
      'tcp:192.168.91.148:80',
      'udp:192.168.91.148:53',
      'tcp:[2001:db8:91::148]:443',
      'fwmark:10',
    ]);
    expect(new Set(s?.services.flatMap((x) => x.destinations.map((d) => d.forward)))).toEqual(
      new Set(['route', 'masq', 'tunnel']),
    );
    expect(s?.director).toMatchObject({ vrrp: 'MASTER', keepalived: true });
    // Warmed up: traffic from the first reading.
    expect(s?.totals?.conns).toBeGreaterThan(0);
  });

  it('splits wrr traffic by weight and sends no replies through the director in DR', async () => {
    const c = clock();
    const demo = createDemoSource({ seed: 3, now: c.now });
    const before = await demo.read();
    c.advance(25_000);
    const rated = computeRates(before, await demo.read());
    const dr = rated.services.find((s) => s.key === 'tcp:192.168.91.148:80');
    const shares = dr?.destinations.map((d) => Math.round((d.share ?? 0) * 6)) ?? [];
    expect(shares).toEqual([3, 2, 1]);
    expect(dr?.destinations.every((d) => d.rates?.outPps === 0)).toBe(true);
    const nat = rated.services.find((s) => s.key === 'tcp:192.168.91.141:80');
    expect(nat?.destinations.every((d) => (d.rates?.outPps ?? 0) > 0)).toBe(true);
  });

  it('takes one server out (keepalived sets weight 0) and puts it back, periodically', async () => {
    const c = clock();
    const demo = createDemoSource({ seed: 1, now: c.now });
    const flaky = (s: Awaited<ReturnType<typeof demo.read>>) =>
      s.services
        .find((x) => x.key === 'tcp:192.168.91.148:80')
        ?.destinations.find((d) => d.address === '192.168.91.149');
    expect(flaky(await demo.read())).toMatchObject({ weight: 1, health: 'up' });
    c.advance(35_000);
    const down = await demo.read();
    expect(flaky(down)).toMatchObject({ weight: 0, health: 'down' });
    c.advance(1000);
    const rated = computeRates(down, await demo.read());
    const dr = rated.services.find((x) => x.key === 'tcp:192.168.91.148:80');
    expect(dr?.destinations.find((d) => d.address === '192.168.91.149')?.rates?.cps).toBe(0);
    c.advance(20_000);
    expect(flaky(await demo.read())).toMatchObject({ weight: 1, health: 'up' });
    // Every 90 s: down again from 120 s to 140 s.
    c.advance(70_000);
    expect(flaky(await demo.read())).toMatchObject({ weight: 0, health: 'down' });
  });

  it('applies the monitor’s actions: drain, weight, zero', async () => {
    const c = clock();
    const demo = createDemoSource({ seed: 1, now: c.now });
    const s0 = await demo.read();
    const svc = s0.services.find((x) => x.key === 'tcp:192.168.91.141:80');
    const rs = svc?.destinations[0];
    if (!svc || !rs) throw new Error('lab changed');
    await demo.apply(drainActions(svc, rs, rs.weight, s0.expireQuiescentTemplate ?? null));
    c.advance(1000);
    const s1 = await demo.read();
    c.advance(5000);
    const rated = computeRates(s1, await demo.read());
    const after = rated.services.find((x) => x.key === svc.key);
    expect(after?.destinations[0]).toMatchObject({ weight: 0, forward: 'masq' });
    expect(after?.destinations[0]?.rates?.cps).toBe(0);
    expect(after?.destinations[1]?.rates?.cps).toBeGreaterThan(0);
    expect(s1.expireQuiescentTemplate).toBe(true);

    await demo.apply(setWeightActions(svc, rs, 5, 0));
    await demo.apply(zeroCountersActions());
    const s2 = await demo.read();
    expect(s2.services.find((x) => x.key === svc.key)?.destinations[0]?.weight).toBe(5);
    expect(s2.totals?.conns).toBe(0);
    await expect(demo.apply([{ kind: 'command', argv: ['rm', '-rf', '/'] }])).rejects.toThrow(
      /cannot run/,
    );
  });

  it('scales to a thousand real servers', async () => {
    const c = clock();
    const demo = createDemoSource({
      seed: 1,
      now: c.now,
      scale: { services: 100, serversPerService: 10 },
    });
    const s = await demo.read();
    expect(s.services).toHaveLength(100);
    expect(s.services.reduce((n, x) => n + x.destinations.length, 0)).toBe(1000);
  });
});
