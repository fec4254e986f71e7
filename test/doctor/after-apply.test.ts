import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { doctorCommand } from '../../source/commands/doctor.js';
import { applyCommand } from '../../source/commands/run.js';
import type { CheckResult } from '../../source/doctor/types.js';
import { FakeHost } from '../helpers/fake-host.js';
import { captureIo } from '../helpers/io.js';

/**
 * apply, then doctor, on a simulated host: what apply configured, doctor agrees with. Only the
 * checks of the sysctl, firewall and keepalived recipes are pinned here (the network and VIP
 * recipes are still being written); the others just must not crash.
 */

const env = { LVS_SETUP_STATE_DIR: '/var/lib/lvs-setup-test' };
const never = async () => false;

async function applyThenDoctor(h: FakeHost, example: string, host: string): Promise<CheckResult[]> {
  const lab = `/root/${example}`;
  h.setFile(lab, await readFile(new URL(`../../examples/${example}`, import.meta.url), 'utf8'));
  const applied = captureIo();
  expect(await applyCommand(h, { lab, host, yes: true }, applied, never), applied.stderr()).toBe(0);
  const io = captureIo();
  await doctorCommand(h, { lab, host, json: true, vrrpSeconds: 0 }, io);
  return JSON.parse(io.stdout()) as CheckResult[];
}

const status = (results: CheckResult[], id: string) => results.find((r) => r.id === id)?.status;

describe('doctor after apply', () => {
  it('a DR real server: ARP sysctls set and persisted', async () => {
    const h = new FakeHost({ distro: 'debian12', nics: [{ name: 'ens33' }], env });
    const results = await applyThenDoctor(h, 'seed-dr.yaml', 'web1');
    expect(status(results, 'arp-sysctls')).toBe('pass');
    expect(status(results, 'sysctl-persisted')).toBe('pass');
  });

  it('an HA director: keepalived owns the table alone, with a sane keepalived.conf', async () => {
    const h = new FakeHost({ distro: 'rocky9', nics: [{ name: 'ens33' }], env });
    const results = await applyThenDoctor(h, 'seed-dr-keepalived.yaml', 'lvs1');
    for (const id of [
      'keepalived-service',
      'table-owner',
      'rules-persisted',
      'vrrp-strict',
      'auth-pass',
      'nopreempt-master',
      'firewall-vrrp',
    ])
      expect(status(results, id), id).toBe('pass');
  });
});
