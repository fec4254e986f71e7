import { describe, expect, it } from 'vitest';
import { createDemoSource } from '../../source/monitor/demo.js';
import type { MonitorJson } from '../../source/monitor/json.js';
import { runMonitor, type RunMonitorOptions } from '../../source/monitor/run.js';
import { createIpvsSource } from '../../source/monitor/sources.js';
import { fakeMachine, fixture } from './helpers.js';

function capture() {
  const chunks: string[] = [];
  return { text: () => chunks.join(''), write: (s: string) => chunks.push(s), columns: 150 };
}

function clock() {
  let t = 1_700_000_000_000;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

const base: RunMonitorOptions = {
  machine: null,
  demo: false,
  once: false,
  json: false,
  exact: false,
  intervalMs: 1000,
};

describe('runMonitor', () => {
  it('needs a terminal for the live screen and says how to script it', async () => {
    const err = capture();
    const code = await runMonitor({
      ...base,
      demo: true,
      stdin: { isTTY: false },
      stderr: err,
      stdout: capture(),
    });
    expect(code).toBe(2);
    expect(err.text()).toMatch(/needs a terminal/);
    expect(err.text()).toMatch(/lvs-setup monitor --once --json/);
  });

  it('suggests the demo when this host has no IPVS', async () => {
    const err = capture();
    const code = await runMonitor({
      ...base,
      machine: fakeMachine(),
      once: true,
      json: true,
      stderr: err,
      stdout: capture(),
    });
    expect(code).toBe(1);
    expect(err.text()).toMatch(/ip_vs kernel module is not loaded/);
    expect(err.text()).toMatch(/lvs-setup monitor --demo/);
  });

  it('rejects intervals too short to mean anything', async () => {
    const err = capture();
    expect(
      await runMonitor({
        ...base,
        demo: true,
        once: true,
        json: true,
        intervalMs: 10,
        stderr: err,
      }),
    ).toBe(2);
  });

  it('prints one demo snapshot as JSON with measured rates (--once --json)', async () => {
    const c = clock();
    const out = capture();
    const source = createDemoSource({ seed: 1, now: c.now });
    const code = await runMonitor({
      ...base,
      demo: true,
      once: true,
      json: true,
      source,
      sleep: c.sleep,
      stdout: out,
    });
    expect(code).toBe(0);
    const json = JSON.parse(out.text()) as MonitorJson;
    expect(json.schema).toBe('lvs-setup.monitor/1');
    expect(json.intervalMs).toBe(1000);
    expect(json.director).toMatchObject({ vrrp: 'MASTER', keepalived: true });
    expect(json.notes).toEqual([
      'OutPkts/OutBytes are 0 in DR and TUN: replies bypass the director',
    ]);
    const dr = json.services.find((s) => s.key === 'tcp:192.168.91.148:80');
    expect(dr?.destinations.map((d) => d.server)).toEqual([
      '192.168.91.146:80',
      '192.168.91.147:80',
      '192.168.91.149:80',
    ]);
    expect(dr?.destinations.every((d) => (d.rates?.cps ?? 0) > 0)).toBe(true);
    expect(dr?.destinations[0]).toMatchObject({
      mode: 'DR',
      forward: 'route',
      weight: 3,
      health: 'up',
    });
  });

  it('prints a real director’s snapshot from ipvsadm and /proc (fake machine, recorded outputs)', async () => {
    const c = clock();
    let reads = 0;
    const m = fakeMachine({
      files: {
        '/proc/net/ip_vs': fixture('el7-ipvsadm-1.27/proc-net-ip_vs.txt'),
        '/proc/net/ip_vs_stats': fixture('el7-ipvsadm-1.27/proc-net-ip_vs_stats.txt'),
        // EL7's kernel counts /proc's persistence in ticks of HZ=1000.
        '/proc/sys/kernel/osrelease': '3.10.0-1160.el7.x86_64\n',
        '/boot/config-3.10.0-1160.el7.x86_64': 'CONFIG_HZ_1000=y\nCONFIG_HZ=1000\n',
      },
      commands: {
        'ipvsadm -Ln --stats --exact': () => ({
          stdout: fixture(
            `el7-ipvsadm-1.27/ipvsadm-Ln-stats-exact${reads++ === 0 ? '' : '-1s-later'}.txt`,
          ),
        }),
        'ipvsadm -Ln --rate --exact': {
          stdout: fixture('el7-ipvsadm-1.27/ipvsadm-Ln-rate-exact.txt'),
        },
        'systemctl is-active --quiet keepalived': { exitCode: 3 },
        'ip -j addr show': { stdout: '[]' },
      },
    });
    const out = capture();
    const source = createIpvsSource(m, { now: c.now, host: 'lvs-145' });
    expect(
      await runMonitor({ ...base, once: true, json: true, source, sleep: c.sleep, stdout: out }),
    ).toBe(0);
    const json = JSON.parse(out.text()) as MonitorJson;
    const nat = json.services.find((s) => s.key === 'tcp:192.168.91.141:80');
    expect(nat).toMatchObject({ scheduler: 'wrr', persistence: 120 });
    // The second counters are read 2 s after the first (the kernel's period, however short the
    // interval): the fixture's 14 and 13 more connections are 7 and 6.5 a second.
    expect(c.now()).toBe(1_700_000_002_000);
    expect(nat?.destinations.map((d) => d.rates?.cps)).toEqual([7, 6.5]);
    expect(nat?.destinations[0]?.counters?.conns).toBe(48227);
    expect(json.director.vrrp).toBe('none');
  });

  it('prints the table as text with --once', async () => {
    const c = clock();
    const out = capture();
    const source = createDemoSource({ seed: 1, now: c.now });
    expect(
      await runMonitor({ ...base, demo: true, once: true, source, sleep: c.sleep, stdout: out }),
    ).toBe(0);
    const text = out.text();
    expect(text).toContain('lvs-setup monitor demo-director');
    expect(text).toContain('192.168.91.149:80');
    expect(text).toContain('[fd00:81::143]:443');
    expect(text).not.toContain('q quit');
    expect(text).not.toContain('›');
  });

  it('streams one JSON line per interval with --json until stopped', async () => {
    const c = clock();
    const out = capture();
    const controller = new AbortController();
    let sleeps = 0;
    const sleep = async (ms: number) => {
      await c.sleep(ms);
      if (++sleeps === 3) controller.abort();
    };
    const source = createDemoSource({ seed: 1, now: c.now });
    expect(
      await runMonitor({
        ...base,
        demo: true,
        json: true,
        source,
        sleep,
        stdout: out,
        signal: controller.signal,
      }),
    ).toBe(0);
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => (JSON.parse(l) as MonitorJson).intervalMs)).toEqual([1000, 1000]);
  });
});
