import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkIpvsAvailable,
  createIpvsSource,
  findOnPath,
  QUIET_RECHECK_MS,
  vrrpState,
} from '../../source/monitor/sources.js';
import { DEBIAN12, debianDirector, fakeMachine, fixture } from './helpers.js';

const EL7 = 'el7-ipvsadm-1.27/';

describe('checkIpvsAvailable', () => {
  it('says what is missing and suggests the demo', async () => {
    const none = await checkIpvsAvailable(fakeMachine());
    expect(none.ok).toBe(false);
    if (!none.ok) {
      expect(none.message).toMatch(/ip_vs kernel module is not loaded/);
      expect(none.message).toMatch(/ipvsadm is not installed/);
      expect(none.message).toMatch(/lvs-setup monitor --demo/);
    }
    const m = debianDirector();
    expect(await checkIpvsAvailable(m)).toEqual({ ok: true });
    // ipvsadm is looked for on PATH, not run
    expect(m.calls).toEqual([]);
    const noIpvsadm = await checkIpvsAvailable(
      fakeMachine({ files: { '/proc/net/ip_vs': fixture(`${DEBIAN12}proc-net-ip_vs.txt`) } }),
    );
    expect(noIpvsadm.ok).toBe(false);
    if (!noIpvsadm.ok) {
      expect(noIpvsadm.message).toMatch(/ipvsadm is not installed/);
      expect(noIpvsadm.message).not.toMatch(/ip_vs kernel module/);
    }
  });

  it('finds a program on PATH only as an executable file', async () => {
    const m = fakeMachine();
    m.env = (name) => (name === 'PATH' ? '/opt/x/bin:relative:/usr/bin/' : undefined);
    m.files['/usr/bin/ipvsadm'] = '';
    // mode 0644 in the fake: not executable, so not found
    expect(await findOnPath(m, 'ipvsadm')).toBeNull();
    m.stat = async (p) => (p === '/usr/bin/ipvsadm' ? { mode: 0o755, size: 1 } : null);
    expect(await findOnPath(m, 'ipvsadm')).toBe('/usr/bin/ipvsadm');
  });
});

describe('persistence from /proc/net/ip_vs, which counts it in kernel ticks', () => {
  const v6 = (s: Awaited<ReturnType<ReturnType<typeof createIpvsSource>['read']>>) =>
    s.services.find((x) => x.key === 'tcp:[2001:db8:91::148]:80')?.persistence;

  it('takes HZ from the kernel config: 150000 ticks at HZ=250 are 600 s', async () => {
    const m = debianDirector();
    const s = await createIpvsSource(m).read();
    expect(v6(s)).toBe(600);
    expect(m.calls.map((c) => c.join(' '))).not.toContain('ipvsadm -Ln');
  });

  it('without a kernel config, measures HZ once against ipvsadm -Ln', async () => {
    const m = debianDirector({ 'ipvsadm -Ln': { stdout: fixture(`${DEBIAN12}ipvsadm-Ln.txt`) } });
    delete m.files['/boot/config-6.1.0-27-amd64'];
    const source = createIpvsSource(m);
    expect(v6(await source.read())).toBe(600);
    expect(v6(await source.read())).toBe(600);
    expect(m.calls.filter((c) => c.join(' ') === 'ipvsadm -Ln')).toHaveLength(1);
  });

  it('says so when neither tells, and does not ask ipvsadm every second', async () => {
    const m = debianDirector({
      'ipvsadm -Ln': { exitCode: 2, stderr: 'Memory allocation problem' },
    });
    delete m.files['/boot/config-6.1.0-27-amd64'];
    const source = createIpvsSource(m);
    const s = await source.read();
    expect(v6(s)).toBeNull();
    expect(s.warnings.join(' ')).toMatch(/Persistence timeouts are unknown/);
    await source.read();
    expect(m.calls.filter((c) => c.join(' ') === 'ipvsadm -Ln')).toHaveLength(1);
  });
});

describe('the real source on a fake machine', () => {
  it('reads the table, counters, kernel rates, totals and the VRRP state', async () => {
    const m = debianDirector();
    const source = createIpvsSource(m, { now: () => 1_000 });
    const s = await source.read();
    expect(s.host).toBe('lvs-deb12');
    expect(s.source).toBe('ipvs');
    expect(s.warnings).toEqual([]);
    expect(s.services.map((x) => x.key)).toEqual([
      'tcp:203.0.113.10:443',
      'udp:203.0.113.10:53',
      'tcp:[2001:db8:91::148]:80',
      'fwmark6:10',
    ]);
    const rs = s.services[0]?.destinations[2];
    expect(rs).toMatchObject({
      address: '10.0.0.13',
      forward: 'tunnel',
      weight: 2,
      activeConns: 70,
    });
    expect(rs?.counters?.conns).toBe(1822004810);
    expect(rs?.kernelRates?.cps).toBe(604);
    expect(s.totals?.conns).toBe(0xd9bb4a1c);
    expect(s.director).toEqual({
      vrrp: 'MASTER',
      keepalived: true,
      vipsPresent: ['203.0.113.10', '2001:db8:91::148'],
    });
    expect(s.expireQuiescentTemplate).toBe(false);
  });

  it('reads the counters only as often as the kernel updates them (2 s), and says when they were read', async () => {
    let t = 0;
    let statsRuns = 0;
    const m = debianDirector({
      'ipvsadm -Ln --stats --exact': () => {
        statsRuns++;
        return { stdout: fixture(`${DEBIAN12}ipvsadm-Ln-stats-exact.txt`) };
      },
    });
    const source = createIpvsSource(m, { now: () => t, directorRefreshMs: 5000 });
    expect(source.countersPeriodMs).toBe(2000);
    const first = await source.read();
    expect(first.countersAt).toBeUndefined();
    const afterFirst = m.calls.length;
    t = 1000;
    const second = await source.read();
    // No process at all between two counter readings: /proc only.
    expect(m.calls.slice(afterFirst)).toEqual([]);
    expect(second.countersAt).toBe(0);
    expect(second.services[0]?.destinations[2]?.counters?.conns).toBe(1822004810);
    expect(second.totals).toEqual(first.totals);
    // A tick that drifts a little early of the period still reads (1.9 s after the last).
    t = 1900;
    await source.read();
    expect(statsRuns).toBe(2);
    t = 2500;
    expect((await source.read()).countersAt).toBe(1900);
    expect(statsRuns).toBe(2);
  });

  it('between counter readings, an unchanged /proc table gives the last reading re-dated (same services)', async () => {
    let t = 0;
    const m = debianDirector();
    const source = createIpvsSource(m, { now: () => t });
    const first = await source.read();
    t = 1000;
    const again = await source.read();
    expect(again.services).toBe(first.services);
    expect(again.takenAt).toBe(1000);
    expect(again.countersAt).toBe(0);
    // The table changed (a server's connections): a new reading, with the counters kept.
    m.files['/proc/net/ip_vs'] = m.files['/proc/net/ip_vs']?.replace(
      /(-> 0A00000D:01BB\s+Tunnel\s+2\s+)70/,
      '$171',
    ) as string;
    t = 1500;
    const changed = await source.read();
    expect(changed.services).not.toBe(first.services);
    expect(changed.services[0]?.destinations[2]?.activeConns).toBe(71);
    expect(changed.countersAt).toBe(0);
    // Counters due again: a new reading even with the same table.
    t = 2000;
    const fresh = await source.read();
    expect(fresh.services).not.toBe(changed.services);
    expect(fresh.countersAt).toBeUndefined();
  });

  it('skips ipvsadm while nothing moves: same totals, same servers, two same outputs in a row', async () => {
    let t = 0;
    let statsRuns = 0;
    let stats = fixture(`${DEBIAN12}ipvsadm-Ln-stats-exact.txt`);
    const m = debianDirector({
      'ipvsadm -Ln --stats --exact': () => {
        statsRuns++;
        return { stdout: stats };
      },
    });
    const source = createIpvsSource(m, { now: () => t });
    const at = async (ms: number) => {
      t = ms;
      return source.read();
    };
    await at(0);
    const second = await at(2000);
    expect(statsRuns).toBe(2);
    // The same output twice with the same kernel totals: the next due reading runs nothing and
    // says the counters are current as of now (they are the same ones, so rates are 0).
    const before = m.calls.length;
    const quiet = await at(4000);
    expect(statsRuns).toBe(2);
    expect(m.calls.slice(before)).toEqual([]);
    expect(quiet.services).toBe(second.services);
    expect(quiet.countersAt ?? quiet.takenAt).toBe(4000);
    // Connections come and go (ActiveConn) on the same servers: still nothing to run.
    const ipVs = m.files['/proc/net/ip_vs'] as string;
    m.files['/proc/net/ip_vs'] = ipVs.replace(/(-> 0A00000D:01BB\s+Tunnel\s+2\s+)70/, '$171');
    const conns = await at(6000);
    expect(statsRuns).toBe(2);
    expect(conns.services[0]?.destinations[2]?.activeConns).toBe(71);
    expect(conns.services[0]?.destinations[2]?.counters?.conns).toBe(1822004810);
    // The kernel's totals moved: ipvsadm runs at once.
    const totals = m.files['/proc/net/ip_vs_stats'] as string;
    m.files['/proc/net/ip_vs_stats'] = totals.replace('D9BB4A1C', 'D9BB4A1D');
    stats = stats.replace('1822004810', '1822004811');
    const moved = await at(8000);
    expect(statsRuns).toBe(3);
    expect(moved.services[0]?.destinations[2]?.counters?.conns).toBe(1822004811);
    // Its output differed from the one before: not quiet until two outputs agree again.
    await at(10000);
    expect(statsRuns).toBe(4);
    await at(12000);
    expect(statsRuns).toBe(4);
    // A server added (its counters are in no earlier output): ipvsadm runs.
    m.files['/proc/net/ip_vs'] = (m.files['/proc/net/ip_vs'] as string).replace(
      /(-> 0A00000D:01BB[^\n]*\n)/,
      '$1  -> 0A0000FE:01BB      Tunnel  1      0          0         \n',
    );
    stats = stats.replace(
      /(-> 10\.0\.0\.13:443[^\n]*\n)/,
      '$1  -> 10.0.0.254:443                        0        0        0        0        0\n',
    );
    const added = await at(14000);
    expect(statsRuns).toBe(5);
    const fresh = added.services[0]?.destinations.find((d) => d.address === '10.0.0.254');
    expect(fresh?.counters).toEqual({ conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 });
    await at(16000);
    expect(statsRuns).toBe(6);
    // Quiet again, it still looks every QUIET_RECHECK_MS (a service zeroed by hand with
    // ipvsadm -Z -t leaves the totals as they were).
    for (let ms = 18000; ms < 16000 + QUIET_RECHECK_MS; ms += 2000) await at(ms);
    expect(statsRuns).toBe(6);
    await at(16000 + QUIET_RECHECK_MS);
    expect(statsRuns).toBe(7);
  });

  it('asks systemctl about keepalived at most once a minute when it has no pid file', async () => {
    let t = 0;
    const m = debianDirector();
    const source = createIpvsSource(m, { now: () => t, directorRefreshMs: 5000 });
    for (t = 0; t < 60_000; t += 1000) await source.read();
    expect(m.calls.filter((c) => c[0] === 'systemctl')).toHaveLength(1);
    t = 61_000;
    await source.read();
    expect(m.calls.filter((c) => c[0] === 'systemctl')).toHaveLength(2);
  });

  it('finds keepalived and the VIPs in /proc without any process (pid file, fib_trie, if_inet6)', async () => {
    const lab = (f: string) =>
      readFileSync(new URL(`../fixtures/proc-net/debian12-lab/${f}`, import.meta.url), 'utf8');
    const m = debianDirector({
      'systemctl is-active --quiet keepalived': { exitCode: 3 },
      'ip -j addr show': { exitCode: 1 },
    });
    m.files['/run/keepalived.pid'] = '4242\n';
    m.files['/proc/4242'] = '';
    m.files['/proc/net/fib_trie'] = lab('fib_trie');
    m.files['/proc/net/if_inet6'] = lab('if_inet6');
    const source = createIpvsSource(m, { vips: ['10.0.0.100', 'fd00::100', '192.168.91.149'] });
    const s = await source.read();
    expect(s.director).toEqual({
      vrrp: 'MASTER',
      keepalived: true,
      vipsPresent: ['10.0.0.100', 'fd00::100'],
    });
    expect(m.calls.filter((c) => c[0] === 'systemctl' || c[0] === 'ip')).toEqual([]);
    // The pid file of a keepalived that died: not running, and no systemctl either.
    delete m.files['/proc/4242'];
    const later = await createIpvsSource(m, { vips: ['10.0.0.100'] }).read();
    expect(later.director.vrrp).toBe('none');
    expect(m.calls.filter((c) => c[0] === 'systemctl')).toEqual([]);
  });

  it('is BACKUP when keepalived runs without the VIP (EL7 iproute2 without -j)', async () => {
    const m = fakeMachine({
      files: { '/proc/net/ip_vs': fixture(`${EL7}proc-net-ip_vs.txt`) },
      commands: {
        'ipvsadm -Ln --stats --exact': { stdout: fixture(`${EL7}ipvsadm-Ln-stats-exact.txt`) },
        'ipvsadm -Ln --rate --exact': { stdout: fixture(`${EL7}ipvsadm-Ln-rate-exact.txt`) },
        'systemctl is-active --quiet keepalived': { exitCode: 0 },
        'ip -j addr show': { exitCode: 255, stderr: 'Option "-j" is unknown, try "ip -help".' },
        'ip -o addr show': { stdout: fixture('el7-ip-o-addr-backup.txt') },
      },
    });
    const s = await createIpvsSource(m, { host: 'lvs-146' }).read();
    expect(s.director).toEqual({ vrrp: 'BACKUP', keepalived: true, vipsPresent: [] });
    // No /proc/net/ip_vs_stats: the totals are the services' sum.
    expect(s.totals?.conns).toBe(96411 + 2567818 + 10466 + 180823 + 399354);
  });

  it("asks systemd's cgroup tree, not systemctl, when keepalived has no pid file", async () => {
    for (const slice of ['/sys/fs/cgroup/system.slice', '/sys/fs/cgroup/systemd/system.slice']) {
      let t = 0;
      const m = debianDirector();
      m.files[slice] = '';
      m.files[`${slice}/keepalived.service`] = '';
      const source = createIpvsSource(m, { now: () => t, directorRefreshMs: 5000 });
      expect((await source.read()).director.keepalived).toBe(true);
      // keepalived stops: systemd removes its cgroup; seen at the next director refresh
      delete m.files[`${slice}/keepalived.service`];
      t = 6000;
      expect((await source.read()).director).toMatchObject({ keepalived: false, vrrp: 'none' });
      expect(m.calls.filter((c) => c[0] === 'systemctl')).toEqual([]);
    }
  });

  it('says none without keepalived', async () => {
    const m = debianDirector({ 'systemctl is-active --quiet keepalived': { exitCode: 3 } });
    expect((await createIpvsSource(m).read()).director.vrrp).toBe('none');
    expect(vrrpState(true, [], [])).toBe('unknown');
  });

  it('still shows the table without root, and says why the traffic is missing', async () => {
    const m = debianDirector(
      {
        'ipvsadm -Ln --stats --exact': {
          exitCode: 2,
          stderr: "Can't initialize ipvs: Permission denied (you must be root?)\n",
        },
        'ipvsadm -Ln --rate --exact': {
          exitCode: 2,
          stderr: "Can't initialize ipvs: Permission denied (you must be root?)\n",
        },
      },
      1000,
    );
    const s = await createIpvsSource(m).read();
    expect(s.services).toHaveLength(4);
    expect(s.services[0]?.destinations[0]?.counters).toBeNull();
    expect(s.warnings).toEqual([
      'ipvsadm needs root for traffic counters: run the monitor with sudo.',
    ]);
  });

  it('falls back to ipvsadm -Ln when /proc/net/ip_vs cannot be read, and fails clearly without either', async () => {
    const m = debianDirector({ 'ipvsadm -Ln': { stdout: fixture(`${DEBIAN12}ipvsadm-Ln.txt`) } });
    delete m.files['/proc/net/ip_vs'];
    const s = await createIpvsSource(m).read();
    expect(s.services[0]?.flags).toEqual(['sh-fallback', 'sh-port']);
    const broken = debianDirector({
      'ipvsadm -Ln': { exitCode: 2, stderr: 'Protocol not available\n' },
    });
    delete broken.files['/proc/net/ip_vs'];
    await expect(createIpvsSource(broken).read()).rejects.toThrow(/--demo/);
  });

  it('adds health from an opt-in probe without waiting for it', async () => {
    const m = debianDirector();
    let t = 0;
    const probed: string[] = [];
    const source = createIpvsSource(m, {
      now: () => t,
      healthProbe: async (address, port) => {
        probed.push(`${address}:${port}`);
        return address === '10.0.0.12' ? 'down' : 'up';
      },
    });
    await source.read();
    t = 1000;
    const s = await source.read();
    const byAddr = Object.fromEntries(
      s.services.flatMap((x) => x.destinations.map((d) => [`${d.address}:${d.port}`, d.health])),
    );
    expect(byAddr['10.0.0.12:443']).toBe('down');
    expect(byAddr['10.0.0.11:443']).toBe('up');
    // fwmark servers have port 0: nothing to probe.
    expect(probed.some((p) => p.endsWith(':0'))).toBe(false);
    expect(probed).toHaveLength(7);
  });
});
