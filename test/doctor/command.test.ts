import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { doctorCommand } from '../../source/commands/doctor.js';
import { CliError } from '../../source/commands/output.js';
import { inferModel } from '../../source/doctor/model.js';
import { probeActive, probeBasics } from '../../source/doctor/probe.js';
import { runDoctor } from '../../source/doctor/doctor.js';
import type { CheckResult } from '../../source/doctor/types.js';
import { gatherFacts } from '../../source/facts/gather.js';
import { FakeHost } from '../helpers/fake-host.js';
import { captureIo } from '../helpers/io.js';
import { missing, ok } from './helpers.js';

async function withLab(h: FakeHost, example: string): Promise<string> {
  const path = `/root/${example}`;
  h.setFile(path, await readFile(new URL(`../../examples/${example}`, import.meta.url), 'utf8'));
  return path;
}

const SS_WEB = 'LISTEN 0 511 0.0.0.0:80 0.0.0.0:*\nLISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n';

/** The seed's DR real server web1, configured by hand on a simulated Debian host. */
function drRealServer(): FakeHost {
  const h = new FakeHost({
    distro: 'debian12',
    nics: [{ name: 'ens33', addrs: ['192.168.91.146/24'] }],
  });
  h.nic('lo')?.addrs.push({ address: '192.168.91.148', prefix: 32, label: 'lo:0' });
  h.defaultRoute = { gateway: '192.168.91.2', dev: 'ens33' };
  const lines: string[] = [];
  for (const nic of ['all', 'lo', 'ens33']) {
    h.setFile(`/proc/sys/net/ipv4/conf/${nic}/arp_ignore`, '1\n');
    h.setFile(`/proc/sys/net/ipv4/conf/${nic}/arp_announce`, '2\n');
    lines.push(`net.ipv4.conf.${nic}.arp_ignore = 1`, `net.ipv4.conf.${nic}.arp_announce = 2`);
  }
  h.setFile('/etc/sysctl.d/90-lvs-setup.conf', `${lines.join('\n')}\n`);
  h.failWhen = (argv) => (argv[0] === 'ss' && argv[1] === '-ltnH' ? ok(SS_WEB) : null);
  return h;
}

/** The seed's NAT director lvs, configured by hand on a simulated Rocky 9 host. */
async function natDirector(): Promise<FakeHost> {
  const h = new FakeHost({
    distro: 'rocky9',
    nics: [
      { name: 'ens33', addrs: ['192.168.91.141/24'] },
      { name: 'ens37', addrs: ['192.168.81.141/24'] },
    ],
  });
  h.defaultRoute = { gateway: '192.168.91.2', dev: 'ens33' };
  h.units.set('firewalld', { present: true, active: false, enabled: false });
  h.units.set('ipvsadm', { present: true, active: true, enabled: true });
  h.packages.add('ipvsadm');
  await h.run(['modprobe', 'ip_vs']);
  const rules = [
    '-A -t 192.168.91.141:80 -s wrr -p 120',
    '-a -t 192.168.91.141:80 -r 192.168.81.142:80 -m -w 1',
    '-a -t 192.168.91.141:80 -r 192.168.81.143:80 -m -w 1',
  ].join('\n');
  await h.run(['ipvsadm', '-R'], { input: rules });
  h.setFile('/etc/sysconfig/ipvsadm', `${rules}\n`, 0o600);
  h.natRules.push('-A POSTROUTING -s 192.168.81.0/24 -j MASQUERADE');
  const conf = ['net.ipv4.ip_forward = 1', 'net.ipv4.vs.conntrack = 1'];
  h.setFile('/proc/sys/net/ipv4/ip_forward', '1\n');
  h.setFile('/proc/sys/net/ipv4/vs/conntrack', '1\n');
  for (const nic of ['all', 'default', 'ens33', 'ens37']) {
    h.setFile(`/proc/sys/net/ipv4/conf/${nic}/send_redirects`, '0\n');
    conf.push(`net.ipv4.conf.${nic}.send_redirects = 0`);
  }
  h.setFile('/etc/sysctl.d/90-lvs-setup.conf', `${conf.join('\n')}\n`);
  return h;
}

const byId = (results: CheckResult[], id: string) => results.find((r) => r.id === id);

describe('lvs-setup doctor on a simulated host', () => {
  it('a correct DR real server: every check passes or is skipped, exit 0', async () => {
    const h = drRealServer();
    const lab = await withLab(h, 'seed-dr.yaml');
    const io = captureIo();
    const code = await doctorCommand(h, { lab, host: 'web1', vrrpSeconds: 0 }, io);
    expect(io.stdout()).toContain(
      'lvs-setup doctor: host web1 (real-server) of lab seed-dr (--host)',
    );
    expect(io.stdout()).toMatch(/\d+ checks passed, 0 warnings, 0 failed, \d+ skipped/);
    expect(io.stdout()).not.toMatch(/^FAIL/m);
    expect(code).toBe(0);
  });

  it('finds its host by address without --host', async () => {
    const h = drRealServer();
    const lab = await withLab(h, 'seed-dr.yaml');
    const io = captureIo();
    expect(await doctorCommand(h, { lab, vrrpSeconds: 0 }, io)).toBe(0);
    expect(io.stdout()).toContain('host web1 (real-server) of lab seed-dr (matched by address)');
  });

  it('a broken trap fails with the fix under it, exit 1', async () => {
    const h = drRealServer();
    h.setFile('/proc/sys/net/ipv4/conf/all/arp_ignore', '0\n');
    h.setFile('/proc/sys/net/ipv4/conf/ens33/arp_ignore', '0\n');
    const lab = await withLab(h, 'seed-dr.yaml');
    const io = captureIo();
    const code = await doctorCommand(h, { lab, host: 'web1', vrrpSeconds: 0 }, io);
    expect(code).toBe(1);
    const out = io.stdout();
    expect(out).toMatch(
      /^FAIL {2}ARP sysctls on a DR\/TUN real server \(all and the NIC\) \[arp-sysctls\]$/m,
    );
    expect(out).toMatch(
      /^ {6}fix: sysctl -w net\.ipv4\.conf\.all\.arp_ignore=1 net\.ipv4\.conf\.ens33\.arp_ignore=1$/m,
    );
    expect(out).toContain(
      'or let lvs-setup do it: sudo lvs-setup apply --lab /root/seed-dr.yaml --host web1',
    );
    expect(out).toMatch(/, 1 failed, /);
  });

  it('--json prints the results array', async () => {
    const h = drRealServer();
    h.failWhen = () => null; // ss prints nothing: nothing listens
    const lab = await withLab(h, 'seed-dr.yaml');
    const io = captureIo();
    const code = await doctorCommand(h, { lab, host: 'web1', json: true, vrrpSeconds: 0 }, io);
    expect(code).toBe(1);
    const results = JSON.parse(io.stdout()) as CheckResult[];
    expect(Array.isArray(results)).toBe(true);
    for (const r of results) {
      expect(Object.keys(r).sort()).toEqual(['detail', 'fix', 'id', 'status', 'title']);
      expect(['pass', 'warn', 'fail', 'skip']).toContain(r.status);
    }
    expect(byId(results, 'service-listening')).toMatchObject({ status: 'fail' });
    expect(byId(results, 'vip-loopback')).toMatchObject({ status: 'pass' });
  });

  it('a correct NAT director passes, and reaches its real servers with curl (argv, no shell)', async () => {
    const h = await natDirector();
    const lab = await withLab(h, 'seed-nat.yaml');
    const io = captureIo();
    const code = await doctorCommand(h, { lab, host: 'lvs', json: true, vrrpSeconds: 0 }, io);
    const results = JSON.parse(io.stdout()) as CheckResult[];
    expect(results.filter((r) => r.status === 'fail' || r.status === 'warn')).toEqual([]);
    expect(code).toBe(0);
    expect(byId(results, 'rules-persisted')?.status).toBe('pass');
    expect(byId(results, 'real-servers-reachable')?.status).toBe('pass');
    const curls = h.calls.filter((c) => c[0] === 'curl');
    expect(curls.map((c) => c[c.length - 1])).toEqual([
      'http://192.168.81.142:80/',
      'http://192.168.81.143:80/',
    ]);
    expect(h.calls.some((c) => ['sh', 'bash', '/bin/sh'].includes(c[0] ?? ''))).toBe(false);
  });

  it('an unreachable real server and a forgotten ip_forward both fail', async () => {
    const h = await natDirector();
    h.setFile('/proc/sys/net/ipv4/ip_forward', '0\n');
    h.failWhen = (argv) =>
      argv[0] === 'curl' && argv.includes('http://192.168.81.143:80/')
        ? {
            ...ok(),
            exitCode: 7,
            stderr: 'curl: (7) Failed to connect to 192.168.81.143 port 80: Connection refused',
          }
        : null;
    const lab = await withLab(h, 'seed-nat.yaml');
    const io = captureIo();
    expect(await doctorCommand(h, { lab, host: 'lvs', json: true, vrrpSeconds: 0 }, io)).toBe(1);
    const results = JSON.parse(io.stdout()) as CheckResult[];
    expect(byId(results, 'ip-forward')?.status).toBe('fail');
    expect(byId(results, 'real-servers-reachable')?.detail).toContain(
      'web2 192.168.81.143:80: refused',
    );
  });

  it('without a lab file it infers the role from what is configured', async () => {
    const h = drRealServer();
    const io = captureIo();
    const code = await doctorCommand(h, { vrrpSeconds: 0 }, io);
    expect(io.stdout()).toContain('role inferred: real-server');
    expect(io.stdout()).toContain('192.168.91.148/32 is on lo');
    expect(code).toBe(0);

    const d = await natDirector();
    const run = await runDoctor(d, { vrrpSeconds: 0 });
    expect(run.model.roles).toEqual(['director']);
    expect(run.model.directed[0]).toMatchObject({ vip: '192.168.91.141', port: 80, mode: 'nat' });
    expect(byId(run.results, 'rules-persisted')?.status).toBe('pass');
    expect(byId(run.results, 'ip-forward')?.status).toBe('pass');

    const nfs = new FakeHost({ distro: 'rocky9' });
    nfs.setFile('/etc/exports', '/usr/share *(ro,sync)\n');
    const basics = await probeBasics(nfs, await gatherFacts(nfs));
    const model = inferModel(await gatherFacts(nfs), { ...basics, reach: null, vrrp: null });
    expect(model.roles).toEqual(['nfs-server']);
  });

  it('bad usage and bad lab files are errors (exit 2)', async () => {
    const h = drRealServer();
    await expect(doctorCommand(h, { host: 'web1' }, captureIo())).rejects.toBeInstanceOf(CliError);
    h.setFile('/root/bad.yaml', 'name: x\nservices: 3\n');
    await expect(doctorCommand(h, { lab: '/root/bad.yaml' }, captureIo())).rejects.toMatchObject({
      exitCode: 2,
    });
    const lab = await withLab(h, 'seed-dr.yaml');
    await expect(doctorCommand(h, { lab, host: 'nope' }, captureIo())).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('--host nope: no such host'),
    });
    await expect(doctorCommand(h, { lab, host: 'constructor' }, captureIo())).rejects.toMatchObject(
      {
        exitCode: 2,
        message: expect.stringContaining('--host constructor: no such host'),
      },
    );
  });
});

describe('probes', () => {
  it('listens for VRRP with tcpdump (argv, bounded by a timeout) and parses the adverts', async () => {
    const h = new FakeHost({
      distro: 'rocky9',
      nics: [{ name: 'ens33', addrs: ['192.168.91.145/24'] }],
    });
    const lab = await withLab(h, 'seed-dr-keepalived.yaml');
    const adverts =
      'IP 192.168.91.149 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 90, authtype simple, intvl 1s, length 20\n' +
      'IP 192.168.91.77 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 200, authtype simple, intvl 1s, length 20\n';
    const seen: Array<{ argv: readonly string[]; timeoutMs: number | undefined }> = [];
    const run = h.run.bind(h);
    h.run = async (argv, options) => {
      if (argv[0] === 'tcpdump') seen.push({ argv, timeoutMs: options?.timeoutMs });
      if (argv[0] === 'tcpdump' && argv[1] !== '--version')
        return { ...ok(adverts), timedOut: true };
      return run(argv, options);
    };
    const io = captureIo();
    expect(await doctorCommand(h, { lab, host: 'lvs1', json: true, vrrpSeconds: 2 }, io)).toBe(1);
    const results = JSON.parse(io.stdout()) as CheckResult[];
    expect(byId(results, 'vrrp-router-id')).toMatchObject({ status: 'fail' });
    expect(byId(results, 'vrrp-router-id')?.detail).toContain('192.168.91.77');
    expect(byId(results, 'vrrp-router-id')?.detail).not.toContain('192.168.91.149 also');
    expect(seen[1]).toEqual({
      argv: ['tcpdump', '-l', '-nn', '-p', '-i', 'ens33', '-c', '20', 'vrrp'],
      timeoutMs: 2000,
    });
  });

  it('skips the VRRP listen with a clear reason without tcpdump or root', async () => {
    const h = new FakeHost({
      distro: 'rocky9',
      nics: [{ name: 'ens33', addrs: ['192.168.91.145/24'] }],
    });
    h.failWhen = (argv) => (argv[0] === 'tcpdump' ? missing : null);
    const lab = await withLab(h, 'seed-dr-keepalived.yaml');
    const io = captureIo();
    await doctorCommand(h, { lab, host: 'lvs1', json: true, vrrpSeconds: 1 }, io);
    const r = byId(JSON.parse(io.stdout()) as CheckResult[], 'vrrp-router-id');
    expect(r?.status).toBe('skip');
    expect(r?.detail).toContain('tcpdump is not installed');

    const user = new FakeHost({
      distro: 'rocky9',
      uid: 1000,
      nics: [{ name: 'ens33', addrs: ['192.168.91.145/24'] }],
    });
    const facts = await gatherFacts(user);
    const basics = await probeBasics(user, facts);
    const model = inferModel(facts, { ...basics, reach: null, vrrp: null });
    model.ha = {
      state: 'MASTER',
      priority: 100,
      nopreempt: false,
      interface: 'ens33',
      routerId: 51,
      peerAddresses: [],
    };
    const active = await probeActive(user, facts, model, { vrrpSeconds: 1 });
    expect(active.vrrp).toEqual({
      status: 'skipped',
      reason: 'capturing packets needs root (sudo)',
    });
  });

  it('reads keepalived.conf, the rules file and persisted sysctls through the machine', async () => {
    const h = new FakeHost({ distro: 'debian12' });
    h.setFile('/etc/keepalived/keepalived.conf', 'vrrp_instance VI_1 {\n state BACKUP\n}\n', 0o640);
    h.setFile('/etc/ipvsadm.rules', '-A -t 10.0.0.1:80 -s rr\n');
    h.setFile('/etc/default/ipvsadm', 'AUTO="true"\n');
    h.setFile('/etc/sysctl.d/10-a.conf', 'net.ipv4.ip_forward = 0\n');
    h.setFile('/etc/sysctl.d/90-b.conf', 'net/ipv4/ip_forward = 1\n');
    const b = await probeBasics(h, await gatherFacts(h));
    expect(b.keepalivedConf).toMatchObject({ present: true });
    expect(b.ipvsRules).toMatchObject({ path: '/etc/ipvsadm.rules', present: true });
    expect(b.ipvsadmDefaults.content).toContain('AUTO');
    expect(b.sysctlPersisted['net.ipv4.ip_forward']).toEqual({
      value: '1',
      file: '/etc/sysctl.d/90-b.conf',
    });
    expect(b.listeners).toEqual([]);
  });
});
