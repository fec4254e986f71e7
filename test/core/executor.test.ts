import { describe, expect, it } from 'vitest';
import { applyCommand, undoCommand } from '../../source/commands/run.js';
import { CliError } from '../../source/commands/common.js';
import { execute, readJournal, type ExecEvent } from '../../source/executor.js';
import { gatherFacts } from '../../source/facts/gather.js';
import { change, cmd, ok, writeFile, type Step } from '../../source/plan/step.js';
import { FakeHost } from '../helpers/fake-host.js';
import { captureIo } from '../helpers/io.js';

const STATE = '/var/lib/lvs-setup-test';
const env = { LVS_SETUP_STATE_DIR: STATE };
const never = async () => false;

function drWeb1() {
  return new FakeHost({ distro: 'debian12', nics: [{ name: 'ens33' }], env });
}

async function apply(host: FakeHost, lab: string, name: string) {
  const io = captureIo();
  const code = await applyCommand(host, { lab, host: name, yes: true }, io, never);
  return { code, io };
}

function filesOutsideState(h: FakeHost): string {
  return JSON.stringify(
    [...h.files.entries()]
      .filter(([p]) => !p.startsWith(STATE))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([p, f]) => [p, f.mode, f.content.toString('base64')]),
  );
}

// The lab files are read through the machine, so copy them in.
async function withLab(h: FakeHost, example: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const path = `/root/${example}`;
  h.setFile(path, await readFile(new URL(`../../examples/${example}`, import.meta.url), 'utf8'));
  return path;
}

describe('apply on a simulated host', () => {
  it('configures a DR real server, and a second apply reports no changes', async () => {
    const h = drWeb1();
    const lab = await withLab(h, 'seed-dr.yaml');
    const first = await apply(h, lab, 'web1');
    expect(first.code).toBe(0);
    expect(first.io.stdout()).toMatch(/ok=\d+ changed=[1-9]\d* failed=0/);
    expect(h.sysctl('net.ipv4.conf.all.arp_ignore')).toBe('1');
    expect(h.sysctl('net.ipv4.conf.lo.arp_announce')).toBe('2');
    // The doctor's checks run after a successful apply.
    expect(first.io.stdout()).toMatch(/Checks|checks passed/);
    expect(h.calls.some((c) => c[0] === 'ss')).toBe(true);
    const second = await apply(h, lab, 'web1');
    expect(second.code).toBe(0);
    expect(second.io.stdout()).toContain('No changes. This host already matches the lab file.');
  });

  it('refuses to apply without root (exit 3) but a dry run works', async () => {
    const h = new FakeHost({ uid: 1000, env });
    const lab = await withLab(h, 'seed-dr.yaml');
    await expect(
      applyCommand(h, { lab, host: 'web1', yes: true }, captureIo(), never),
    ).rejects.toMatchObject({ exitCode: 3 });
    const io = captureIo();
    expect(await applyCommand(h, { lab, host: 'web1', dryRun: true }, io, never)).toBe(0);
    expect(io.stdout()).toMatch(/Plan: \d+ to change/);
    expect(h.calls.some((c) => c[0] === 'sysctl' && c[1] === '-w')).toBe(false);
  });

  it('asks before changing anything, and a "no" changes nothing', async () => {
    const h = drWeb1();
    const lab = await withLab(h, 'seed-dr.yaml');
    const before = filesOutsideState(h);
    let asked = '';
    const code = await applyCommand(h, { lab, host: 'web1' }, captureIo(), async (q) => {
      asked = q;
      return false;
    });
    expect(code).toBe(0);
    expect(asked).toMatch(/Apply \d+ change/);
    expect(filesOutsideState(h)).toBe(before);
  });

  it('stops at a failing step with the command, its stderr and what to do; a re-run resumes', async () => {
    const h = drWeb1();
    const lab = await withLab(h, 'seed-dr.yaml');
    h.failWhen = (argv) =>
      argv[0] === 'sysctl' && argv[2]?.startsWith('net.ipv4.conf.lo.arp_ignore')
        ? {
            exitCode: 255,
            stdout: '',
            stderr: 'sysctl: permission denied on key',
            timedOut: false,
            notFound: false,
            durationMs: 1,
          }
        : null;
    const first = await apply(h, lab, 'web1');
    expect(first.code).toBe(1);
    expect(first.io.stderr()).toContain('FAILED: sysctl -w net.ipv4.conf.lo.arp_ignore=1');
    expect(first.io.stderr()).toContain('sysctl: permission denied on key');
    expect(first.io.stderr()).toContain('resumes');
    expect(first.io.stdout()).toMatch(/failed=1 skipped=\d+/);
    // Nothing after the failed step ran.
    expect(h.sysctl('net.ipv4.conf.lo.arp_announce')).toBe('0');
    h.failWhen = () => null;
    const calls = h.calls.length;
    const second = await apply(h, lab, 'web1');
    expect(second.code).toBe(0);
    // Steps done in the first run are not run again.
    const rerun = h.calls
      .slice(calls)
      .filter((c) => c[0] === 'sysctl' && c[2] === 'net.ipv4.conf.all.arp_ignore=1');
    expect(rerun).toHaveLength(0);
    expect(h.sysctl('net.ipv4.conf.lo.arp_announce')).toBe('2');
  });

  it('undo restores every file byte for byte and reverses the settings', async () => {
    const h = drWeb1();
    h.setFile('/etc/sysctl.d/90-lvs-setup.conf', '# a file the user had\nkernel.foo = 1\n', 0o600);
    const lab = await withLab(h, 'seed-dr.yaml');
    const before = filesOutsideState(h);
    expect((await apply(h, lab, 'web1')).code).toBe(0);
    expect(filesOutsideState(h)).not.toBe(before);
    const io = captureIo();
    expect(await undoCommand(h, { yes: true }, io, never)).toBe(0);
    expect(io.stdout()).toMatch(/Undid 1 apply run/);
    expect(filesOutsideState(h)).toBe(before);
    expect(h.text('/etc/sysctl.d/90-lvs-setup.conf')).toBe(
      '# a file the user had\nkernel.foo = 1\n',
    );
    // A second undo has nothing left to do.
    const again = captureIo();
    await undoCommand(h, { yes: true }, again, never);
    expect(again.stdout()).toContain('Nothing to undo');
  });

  it('undo after an interrupted apply and its resumed re-run restores the original state', async () => {
    const h = drWeb1();
    const lab = await withLab(h, 'seed-dr.yaml');
    const before = filesOutsideState(h);
    // Simulate the process dying in the middle: the machine throws (not a command failure).
    let n = 0;
    h.failWhen = (argv) => {
      if (argv[0] === 'sysctl' && ++n === 3) throw new Error('killed');
      return null;
    };
    await expect(apply(h, lab, 'web1')).rejects.toThrow('killed');
    h.failWhen = () => null;
    expect((await apply(h, lab, 'web1')).code).toBe(0);
    const journal = await readJournal(h, STATE);
    expect(journal.runs).toHaveLength(2);
    expect(await undoCommand(h, { yes: true }, captureIo(), never)).toBe(0);
    expect(filesOutsideState(h)).toBe(before);
  });

  it('undo of two TUN runs, the second after ipip was unloaded, ends clean (exit 0)', async () => {
    // Found in the lab: run 1 loads ipip and puts the VIP on tunl0; something unloads ipip (tunl0
    // and its address go with it); run 2 does both again. Undo reverses run 2 (VIP, tunl0, ipip),
    // then run 1's `ip addr del VIP dev tunl0` meets a device that no longer exists. That address
    // is gone, which is what undo wants: it must not be reported as a failure.
    const h = drWeb1();
    const lab = await withLab(h, 'tun.yaml');
    const before = filesOutsideState(h);
    expect((await apply(h, lab, 'web1')).code).toBe(0);
    expect(h.nic('tunl0')?.addrs.map((a) => a.address)).toEqual(['192.168.91.148']);
    expect((await h.run(['modprobe', '-r', 'ipip'])).exitCode).toBe(0);
    expect(h.nic('tunl0')).toBeUndefined();
    expect((await apply(h, lab, 'web1')).code).toBe(0);
    const io = captureIo();
    expect(await undoCommand(h, { yes: true }, io, never)).toBe(0);
    expect(io.stderr()).toBe('');
    expect(io.stdout()).toMatch(/ip addr del 192\.168\.91\.148\/32 dev tunl0 \(already gone\)/);
    expect(h.nic('tunl0')).toBeUndefined();
    expect(filesOutsideState(h)).toBe(before);
  });

  it('undo still reports an inverse that fails for another reason', async () => {
    const h = drWeb1();
    const lab = await withLab(h, 'tun.yaml');
    expect((await apply(h, lab, 'web1')).code).toBe(0);
    h.failWhen = (argv) =>
      argv[0] === 'ip' && argv[1] === 'addr' && argv[2] === 'del'
        ? {
            exitCode: 2,
            stdout: '',
            stderr: 'RTNETLINK answers: Operation not permitted',
            timedOut: false,
            notFound: false,
            durationMs: 1,
          }
        : null;
    const io = captureIo();
    expect(await undoCommand(h, { yes: true }, io, never)).toBe(1);
    expect(io.stderr()).toMatch(
      /ip addr del 192\.168\.91\.148\/32 dev tunl0: exit 2 .*not permitted/,
    );
  });

  it('undo refuses without root', async () => {
    const h = new FakeHost({ uid: 1000, env });
    await expect(undoCommand(h, { yes: true }, captureIo(), never)).rejects.toBeInstanceOf(
      CliError,
    );
  });
});

describe('executor', () => {
  const step = (id: string, decide: Step['decide']): Step => ({
    id,
    recipe: 'test',
    title: id,
    explain: 'test step',
    decide,
  });

  it('emits events in order and re-decides each step against fresh facts', async () => {
    const h = new FakeHost({ env });
    const facts = await gatherFacts(h);
    const events: ExecEvent[] = [];
    let refreshed = 0;
    const steps = [
      step('a', () =>
        change('needed', [
          cmd(['sysctl', '-w', 'net.ipv4.ip_forward=1'], {
            inverse: [{ argv: ['sysctl', '-w', 'net.ipv4.ip_forward=0'] }],
          }),
        ]),
      ),
      // Decides from the facts refreshed after step a.
      step('b', (f) =>
        f.sysctl['net.ipv4.ip_forward'] === '1'
          ? ok('forwarding on')
          : change('off', [cmd(['false'])]),
      ),
      step('c', () => change('file', [writeFile('/etc/x.conf', 'x\n', 0o640)])),
    ];
    const recap = await execute({
      machine: h,
      steps,
      facts,
      refresh: async () => {
        refreshed += 1;
        return gatherFacts(h);
      },
      lab: 't',
      host: 'h',
      secrets: [],
      onEvent: (e) => events.push(e),
    });
    expect(events.find((e) => e.type === 'output')).toMatchObject({
      index: 0,
      chunk: 'net.ipv4.ip_forward = 1\n',
    });
    expect(events.map((e) => e.type).filter((t) => t !== 'output')).toEqual([
      'start',
      'step-start',
      'action',
      'step-changed',
      'step-start',
      'step-ok',
      'step-start',
      'action',
      'step-changed',
      'end',
    ]);
    expect(recap).toMatchObject({ ok: 1, changed: 2, failed: 0 });
    expect(refreshed).toBe(2);
    expect(h.files.get('/etc/x.conf')?.mode).toBe(0o640);
    expect(h.files.get(`${STATE}/journal.json`)?.mode).toBe(0o600);
    expect(h.files.get(`${STATE}/lvs-setup.log`)?.mode).toBe(0o600);
  });

  it('masks secrets in the log and in events', async () => {
    const h = new FakeHost({ env });
    const facts = await gatherFacts(h);
    const events: ExecEvent[] = [];
    await execute({
      machine: h,
      steps: [step('s', () => change('x', [cmd(['echo', 'pass=s3cr3t'])]))],
      facts,
      refresh: async () => facts,
      lab: 't',
      host: 'h',
      secrets: ['s3cr3t'],
      onEvent: (e) => events.push(e),
    });
    expect(h.text(`${STATE}/lvs-setup.log`)).toContain('pass=***');
    expect(h.text(`${STATE}/lvs-setup.log`)).not.toContain('s3cr3t');
    expect(JSON.stringify(events)).not.toContain('s3cr3t');
  });

  it('a timed-out command fails with a hint about locks', async () => {
    const h = new FakeHost({ env });
    h.failWhen = (argv) =>
      argv[0] === 'yum'
        ? { exitCode: 143, stdout: '', stderr: '', timedOut: true, notFound: false, durationMs: 5 }
        : null;
    const facts = await gatherFacts(h);
    const events: ExecEvent[] = [];
    const recap = await execute({
      machine: h,
      steps: [
        step('p', () => change('x', [cmd(['yum', 'install', '-y', 'ipvsadm'], { timeoutMs: 5 })])),
        step('q', () => ok('fine')),
      ],
      facts,
      refresh: async () => facts,
      lab: 't',
      host: 'h',
      secrets: [],
      onEvent: (e) => events.push(e),
    });
    expect(recap).toMatchObject({ failed: 1, skipped: 1 });
    const failed = events.find((e) => e.type === 'step-failed');
    expect(failed).toMatchObject({ timedOut: true });
    expect(failed && 'hint' in failed ? failed.hint : '').toMatch(/lock/);
  });
});

describe('facts refresh during an apply', () => {
  it('reads packages and versions once, again only after the packages step, and starts no version commands when packages tell', async () => {
    const h = drWeb1();
    const lab = await withLab(h, 'seed-dr.yaml');
    expect(
      await applyCommand(h, { lab, host: 'web1', yes: true, checks: false }, captureIo(), never),
    ).toBe(0);
    const pkgQueries = h.calls.filter((c) => c[0] === 'dpkg-query').length;
    // One at planning, one after the packages step installed nginx.
    expect(pkgQueries).toBe(2);
    expect(h.calls.filter((c) => c[0] === 'nginx' && c[1] === '-v')).toHaveLength(1); // before nginx was installed
    expect(
      h.calls.filter((c) => c[1] === '--version' && c[0] === 'keepalived').length,
    ).toBeLessThanOrEqual(2);
  });
});

describe('targeted refresh', () => {
  it('after a step that only sets sysctls or writes files, no fact-reading process is started', async () => {
    const { groupsChangedBy } = await import('../../source/facts/gather.js');
    expect(groupsChangedBy(['sysctl', '-w', 'a=1'])).toEqual([]);
    expect(groupsChangedBy(['iptables', '-t', 'nat', '-A', 'X'])).toEqual(['nat']);
    expect(groupsChangedBy(['some-new-tool'])).toHaveLength(6);
    const h = drWeb1();
    const lab = await withLab(h, 'seed-dr.yaml');
    expect(
      await applyCommand(h, { lab, host: 'web1', yes: true, checks: false }, captureIo(), never),
    ).toBe(0);
    const shows = h.calls.filter((c) => c[0] === 'systemctl' && c[1] === 'show').length;
    const changers = h.calls.filter((c) => c[0] === 'sysctl' && c[1] === '-w').length;
    expect(changers).toBeGreaterThan(5);
    // One read at planning, then only after steps that ran systemctl or installed packages.
    const systemctlChanges = h.calls.filter((c) => c[0] === 'systemctl' && c[1] !== 'show').length;
    expect(shows).toBeLessThanOrEqual(1 + systemctlChanges + 1);
  });

  it('asks systemctl only about units that have a unit file, unless no unit folder can be read', async () => {
    const { gatherFacts, WATCHED_UNITS } = await import('../../source/facts/gather.js');
    const h = drWeb1();
    const facts = await gatherFacts(h);
    const show = h.calls.find((c) => c[0] === 'systemctl' && c[1] === 'show') ?? [];
    expect(show.slice(4)).toEqual(['systemd-networkd.service']);
    // The units not asked about are known absent, as systemctl would have said (not-found).
    expect(Object.keys(facts.services).sort()).toEqual([...WATCHED_UNITS].sort());
    expect(facts.services.NetworkManager).toEqual({
      present: false,
      active: false,
      enabled: false,
    });
    expect(facts.services['systemd-networkd']?.present).toBe(true);
    // A machine whose unit folders cannot be listed: every unit is asked about.
    const blind = drWeb1();
    blind.listDir = async () => null;
    await gatherFacts(blind);
    const all = blind.calls.find((c) => c[0] === 'systemctl' && c[1] === 'show') ?? [];
    expect(all.slice(4)).toHaveLength(WATCHED_UNITS.length);
  });

  it('after a systemctl step, only the units it names are read again', async () => {
    const { unitsChangedBy } = await import('../../source/facts/gather.js');
    expect(unitsChangedBy(['systemctl', 'enable', '--now', 'nginx'])).toEqual(['nginx']);
    expect(unitsChangedBy(['systemctl', 'disable', 'ipvsadm.service'])).toEqual(['ipvsadm']);
    expect(unitsChangedBy(['systemctl', 'restart', 'nfs-server'])?.sort()).toEqual([
      'nfs-kernel-server',
      'nfs-server',
      'rpcbind',
    ]);
    expect(unitsChangedBy(['systemctl', 'start', 'unwatched'])).toEqual([]);
    expect(unitsChangedBy(['systemctl', 'daemon-reload'])).toBeNull();
    expect(unitsChangedBy(['systemctl', 'start'])).toBeNull();
    expect(unitsChangedBy(['systemctl', '--root=/x', 'enable', 'nginx'])).toBeNull();
    expect(unitsChangedBy(['systemctl', 'start', 'getty@tty1'])).toBeNull();
    expect(unitsChangedBy(['systemctl', 'isolate', 'rescue.target'])).toBeNull();
    expect(unitsChangedBy(['sysctl', '-w', 'a=1'])).toEqual([]);

    const h = drWeb1();
    const lab = await withLab(h, 'seed-dr.yaml');
    expect(
      await applyCommand(h, { lab, host: 'web1', yes: true, checks: false }, captureIo(), never),
    ).toBe(0);
    const shows = h.calls.filter((c) => c[0] === 'systemctl' && c[1] === 'show');
    const units = (c: readonly string[]) => c.filter((w) => w.endsWith('.service'));
    // Planning asks only about units with a unit file (systemd-networkd here: nginx is not
    // installed yet, and this Debian has no NetworkManager); the refresh after
    // `enable --now nginx` asks about nginx only.
    expect(units(shows[0] ?? [])).toEqual(['systemd-networkd.service']);
    const i = h.calls.findIndex(
      (c) => c[0] === 'systemctl' && c[1] === 'enable' && c.includes('nginx'),
    );
    expect(i).toBeGreaterThan(0);
    const next = h.calls.slice(i + 1).find((c) => c[0] === 'systemctl' && c[1] === 'show');
    expect(next && units(next)).toEqual(['nginx.service']);
    // ... and the facts after it know nginx runs: a second apply changes nothing.
    const io = captureIo();
    expect(await applyCommand(h, { lab, host: 'web1', yes: true, checks: false }, io, never)).toBe(
      0,
    );
    expect(io.stdout()).toMatch(/No changes/);
  });
});
