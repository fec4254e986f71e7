import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyCommand, planCommand, undoCommand } from '../../source/commands/run.js';
import { parseLab } from '../../source/config/load.js';
import { FakeHost, type Distro } from '../helpers/fake-host.js';
import { captureIo } from '../helpers/io.js';

const STATE = '/var/lib/lvs-setup-test';
const examples = ['seed-nat', 'seed-dr', 'seed-dr-keepalived', 'tun'];
const distros: Distro[] = ['debian12', 'rocky9', 'centos7'];

const cases = examples.flatMap((ex) => {
  const text = readFileSync(new URL(`../../examples/${ex}.yaml`, import.meta.url), 'utf8');
  const r = parseLab(text);
  if (!r.ok) throw new Error(`${ex} invalid`);
  return Object.entries(r.lab.file.hosts).flatMap(([name, host]) =>
    distros.map((d) => ({ ex, text, name, nics: Object.keys(host.interfaces), distro: d })),
  );
});

/** Each file outside the state dir as "path mode content", so a failure names the file. */
function files(h: FakeHost): string[] {
  return [...h.files.entries()]
    .filter(([p]) => !p.startsWith(STATE) && !p.startsWith('/proc/'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([p, f]) => `${p} ${f.mode.toString(8)} ${JSON.stringify(f.content.toString())}`);
}

describe('every example host on every simulated distro: apply, apply again, undo', () => {
  it.each(cases)('$ex $name $distro', async ({ text, name, nics, distro }) => {
    const h = new FakeHost({
      distro,
      nics: nics.map((n) => ({ name: n })),
      env: { LVS_SETUP_STATE_DIR: STATE },
    });
    h.setFile('/lab.yaml', text);
    const before = files(h);
    const kernel = () =>
      JSON.stringify({
        nics: h.nics.map((n) => [n.name, n.addrs]),
        nat: h.natRules,
        ipvs: h.ipvs,
        route: h.defaultRoute,
      });
    const kernelBefore = kernel();
    const sysctlsBefore = [...h.files.entries()]
      .filter(([p]) => p.startsWith('/proc/sys/net/ipv4/conf/') && !p.includes('tunl0'))
      .map(([p, f]) => `${p}=${f.content.toString()}`);
    const first = captureIo();
    const code = await applyCommand(
      h,
      { lab: '/lab.yaml', host: name, yes: true, checks: false },
      first,
      async () => true,
    );
    expect(first.stderr()).toBe('');
    expect(code).toBe(0);
    const again = captureIo();
    expect(await planCommand(h, { lab: '/lab.yaml', host: name }, again, 't')).toBe(0);
    expect(again.stdout()).toContain('No changes. This host already matches the lab file.');
    const undo = captureIo();
    expect(await undoCommand(h, { yes: true }, undo, async () => true)).toBe(0);
    // Every file lvs-setup wrote is back as it was (packages it installed stay installed).
    expect(files(h)).toEqual(before);
    // And the kernel state: addresses, routes, nat rules, the IPVS table, sysctls.
    expect(kernel()).toBe(kernelBefore);
    expect(
      [...h.files.entries()]
        .filter(([p]) => p.startsWith('/proc/sys/net/ipv4/conf/') && !p.includes('tunl0'))
        .map(([p, f]) => `${p}=${f.content.toString()}`),
    ).toEqual(sysctlsBefore);
  });
});
