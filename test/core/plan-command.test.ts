import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { detectCommand, planCommand } from '../../source/commands/run.js';
import { FakeHost } from '../helpers/fake-host.js';
import { captureIo } from '../helpers/io.js';

async function hostWithLab() {
  const h = new FakeHost({
    distro: 'rocky9',
    nics: [{ name: 'ens33', addrs: ['192.168.91.146/24'] }],
  });
  h.setFile(
    '/lab.yaml',
    await readFile(new URL('../../examples/seed-dr.yaml', import.meta.url), 'utf8'),
  );
  return h;
}

describe('plan', () => {
  it('plans against facts recorded on another host with detect --json', async () => {
    const target = await hostWithLab();
    const io = captureIo();
    expect(await detectCommand(target, { json: true }, io)).toBe(0);
    const here = new FakeHost({ distro: 'debian12', nics: [{ name: 'eth0' }] });
    here.setFile('/lab.yaml', target.text('/lab.yaml') ?? '');
    here.setFile('/web1.json', io.stdout());
    const out = captureIo();
    // No --host: the recorded host's address 192.168.91.146 identifies it as web1.
    expect(
      await planCommand(here, { lab: '/lab.yaml', facts: '/web1.json', format: 'json' }, out, 't'),
    ).toBe(0);
    const plan = JSON.parse(out.stdout()) as {
      host: string;
      facts: string;
      steps: Array<{ actions: Array<{ argv?: string[] }> }>;
    };
    expect(plan.host).toBe('web1');
    expect(plan.facts).toBe('recorded');
    // Rocky 9 facts mean dnf, even though this machine is Debian.
    expect(JSON.stringify(plan.steps)).toContain('"dnf"');
    expect(JSON.stringify(plan.steps)).not.toContain('apt-get');
  });

  it('rejects a facts file that is not detect output', async () => {
    const h = await hostWithLab();
    h.setFile('/bad.json', '{"hello": 1}');
    await expect(
      planCommand(h, { lab: '/lab.yaml', facts: '/bad.json' }, captureIo(), 't'),
    ).rejects.toMatchObject({ exitCode: 2 });
    h.setFile('/bad.json', 'not json');
    await expect(
      planCommand(h, { lab: '/lab.yaml', facts: '/bad.json' }, captureIo(), 't'),
    ).rejects.toThrow(/not JSON/);
  });

  it('--facts and --target together is a usage error', async () => {
    const h = await hostWithLab();
    await expect(
      planCommand(h, { lab: '/lab.yaml', facts: '/x', target: 'centos7' }, captureIo(), 't'),
    ).rejects.toMatchObject({ exitCode: 2 });
  });

  it('a host whose NICs are missing here is a clear error', async () => {
    const h = new FakeHost({ nics: [{ name: 'eth0' }] });
    h.setFile(
      '/lab.yaml',
      await readFile(new URL('../../examples/seed-nat.yaml', import.meta.url), 'utf8'),
    );
    await expect(
      planCommand(h, { lab: '/lab.yaml', host: 'lvs' }, captureIo(), 't'),
    ).rejects.toThrow(
      /needs interfaces ens33, ens37, which this machine does not have \(it has: eth0\)/,
    );
  });

  it('matches the host by MAC when its NICs have no address yet', async () => {
    const h = new FakeHost({ nics: [{ name: 'ens33', mac: '52:54:00:aa:bb:cc' }] });
    const lab = (
      await readFile(new URL('../../examples/seed-dr.yaml', import.meta.url), 'utf8')
    ).replace(
      /ens33: \{ ?address: 192\.168\.91\.147\/24/,
      'ens33: { mac: "52:54:00:AA:BB:CC", address: 192.168.91.147/24',
    );
    expect(lab).toContain('52:54:00:AA:BB:CC');
    h.setFile('/lab.yaml', lab);
    const io = captureIo();
    expect(await planCommand(h, { lab: '/lab.yaml', format: 'json' }, io, 't')).toBe(0);
    expect((JSON.parse(io.stdout()) as { host: string }).host).toBe('web2');
  });
});
