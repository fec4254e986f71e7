import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  closingMessage,
  createWizardServices,
  findLabs,
  interruptible,
  NO_TTY_MESSAGE,
  runWizardCommand,
} from '../../source/commands/wizard.js';
import { gatherFacts } from '../../source/facts/gather.js';
import { FakeHost } from '../helpers/fake-host.js';
import { captureIo } from '../helpers/io.js';

const seedText = readFileSync(new URL('../../examples/seed-nat.yaml', import.meta.url), 'utf8');

describe('lvs-setup with no arguments (the wizard command)', () => {
  it('without a terminal: never hangs, points to apply --lab, exits 2', async () => {
    const io = captureIo();
    const tty = process.stdin.isTTY;
    Object.defineProperty(process.stdin, 'isTTY', { value: undefined, configurable: true });
    try {
      expect(await runWizardCommand(new FakeHost(), {}, io)).toBe(2);
    } finally {
      Object.defineProperty(process.stdin, 'isTTY', { value: tty, configurable: true });
    }
    expect(io.stderr()).toBe(NO_TTY_MESSAGE);
    expect(io.stderr()).toContain('lvs-setup apply --lab FILE');
  });

  it('offers the lab files of the working directory, matched to this machine as apply does', async () => {
    const host = new FakeHost({ nics: [{ name: 'ens33', addrs: ['192.168.81.142/24'] }] });
    host.setFile('/work/lab/seed-nat.yaml', seedText);
    host.setFile('/work/lab/compose.yaml', 'services:\n  web: {image: nginx}\n');
    host.setFile('/work/lab/broken.yaml', 'name: x\nhosts:\n  a: {role: wizard}\n');
    const facts = await gatherFacts(host);
    const labs = await findLabs(host, facts, '/work/lab');
    expect(labs.map((l) => l.path)).toEqual(['broken.yaml', 'seed-nat.yaml']);
    expect(labs[0]?.problem).toMatch(/broken.yaml is not a valid lab file/);
    expect(labs[1]?.match).toEqual({ ok: true, host: 'web1', how: 'matched by address' });
    const given = await findLabs(host, facts, '/work/lab', 'missing.yaml');
    expect(given[0]?.problem).toBe('missing.yaml: no such file (or it cannot be read)');
  });

  it('saves atomically and never over an existing file unless told to', async () => {
    const host = new FakeHost();
    const s = createWizardServices(host, { cwd: '/home/u', dryRun: true, dryRunReason: 'flag' });
    expect(await s.save('lab.yaml', 'a: 1', 0o644, false)).toEqual({
      status: 'saved',
      path: 'lab.yaml',
      mode: 0o644,
    });
    expect(host.text('/home/u/lab.yaml')).toBe('a: 1\n');
    expect(await s.save('lab.yaml', 'a: 2', 0o644, false)).toEqual({
      status: 'exists',
      path: 'lab.yaml',
    });
    expect(host.text('/home/u/lab.yaml')).toBe('a: 1\n');
    await s.save('/tmp/x.sh', '#!/bin/sh\n', 0o600, true);
    expect(host.files.get('/tmp/x.sh')?.mode).toBe(0o600);
    await expect(s.execute(() => {})).rejects.toThrow(/no plan to apply/);
  });

  it('after Ctrl-C during apply, no new command starts', async () => {
    const host = new FakeHost();
    let stopped = false;
    const m = interruptible(host, () => stopped);
    expect((await m.run(['true'])).exitCode).toBe(0);
    stopped = true;
    const r = await m.run(['modprobe', 'ip_vs']);
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toMatch(/interrupted \(Ctrl-C\)/);
    expect(host.calls.some((c) => c[0] === 'modprobe')).toBe(false);
  });

  it('leaves a closing message: what was saved and what to run next', () => {
    const s = createWizardServices(new FakeHost(), {
      cwd: '/',
      dryRun: true,
      dryRunReason: 'flag',
    });
    const lines = closingMessage(
      {
        outcome: { kind: 'reviewed' },
        saved: { lab: 'seed-nat.yaml', sh: 'seed-nat-lvs.sh' },
        otherHosts: [
          {
            host: 'web1',
            role: 'real-server',
            command: 'npx lvs-setup apply --lab seed-nat.yaml --host web1',
          },
        ],
      },
      s,
    ).join('\n');
    expect(lines).toContain('Dry run: nothing on this host changed.');
    expect(lines).toContain('sudo npx lvs-setup apply --lab seed-nat.yaml');
    expect(lines).toContain('npx lvs-setup apply --lab seed-nat.yaml --host web1   # real-server');
    const monitor = closingMessage(
      { outcome: { kind: 'monitor', recap: null }, saved: { lab: null, sh: null }, otherHosts: [] },
      s,
    );
    expect(monitor).toEqual(['Run the monitor: lvs-setup monitor']);
  });
});
