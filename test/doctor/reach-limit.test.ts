import { describe, expect, it } from 'vitest';
import type { RunOptions, RunResult } from '../../source/boundary.js';
import { parseLab } from '../../source/config/load.js';
import { AFTER_APPLY_REACH_LIMIT, runDoctor } from '../../source/doctor/doctor.js';
import { REACH_CONCURRENCY } from '../../source/doctor/probe.js';
import { FakeHost } from '../helpers/fake-host.js';

/** A director of one DR service with n real servers (they need not exist: curl times out). */
function bigLab(n: number) {
  const rs: string[] = [];
  const hosts = [
    '  lvs:\n    role: director\n    interfaces:\n      ens33: { address: 10.0.0.1/16 }',
  ];
  for (let i = 0; i < n; i++) {
    rs.push(`      - { host: rs${i}, weight: 1 }`);
    hosts.push(
      `  rs${i}:\n    role: real-server\n    interfaces:\n      ens33: { address: 10.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}/16 }`,
    );
  }
  const text =
    'name: big\nfirewall: disable\nservices:\n  - name: web\n    vip: 10.0.0.100\n    port: 80\n' +
    `    protocol: tcp\n    mode: dr\n    scheduler: wrr\n    real_servers:\n${rs.join('\n')}\n` +
    `hosts:\n${hosts.join('\n')}\n`;
  const parsed = parseLab(text, 'big.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.lab;
}

/** The director, whose curl calls take a few ms each; counts them and the most at once. */
function director() {
  const h = new FakeHost({ distro: 'debian12', nics: [{ name: 'ens33', addrs: ['10.0.0.1/16'] }] });
  const stats = { curls: 0, running: 0, most: 0 };
  const run = h.run.bind(h);
  h.run = async (argv: readonly string[], options?: RunOptions): Promise<RunResult> => {
    if (argv[0] !== 'curl') return run(argv, options);
    stats.curls += 1;
    stats.running += 1;
    stats.most = Math.max(stats.most, stats.running);
    await new Promise((r) => setTimeout(r, 3));
    stats.running -= 1;
    return { exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false, durationMs: 3 };
  };
  return { h, stats };
}

describe('doctor: trying the real servers of a big director', () => {
  it(`tries every real server, at most ${REACH_CONCURRENCY} at once`, async () => {
    const { h, stats } = director();
    const run = await runDoctor(h, {
      lab: { lab: bigLab(200), host: 'lvs', path: null },
      vrrpSeconds: 0,
    });
    expect(stats.curls).toBe(200);
    expect(stats.most).toBeLessThanOrEqual(REACH_CONCURRENCY);
    expect(stats.most).toBeGreaterThan(1);
    const check = run.results.find((r) => r.id === 'real-servers-reachable');
    expect(check?.status).toBe('pass');
    expect(check?.detail).not.toContain('not tried');
  });

  it(`after an apply, tries the first ${AFTER_APPLY_REACH_LIMIT} and says the rest were not`, async () => {
    const { h, stats } = director();
    const run = await runDoctor(h, {
      lab: { lab: bigLab(1000), host: 'lvs', path: null },
      vrrpSeconds: 0,
      reachLimit: AFTER_APPLY_REACH_LIMIT,
    });
    expect(stats.curls).toBe(AFTER_APPLY_REACH_LIMIT);
    const check = run.results.find((r) => r.id === 'real-servers-reachable');
    expect(check?.status).toBe('pass');
    expect(check?.detail).toContain(`${1000 - AFTER_APPLY_REACH_LIMIT} more not tried here`);
  });
});
