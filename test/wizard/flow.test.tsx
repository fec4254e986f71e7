import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLab } from '../../source/config/load.js';
import { createWizardServices } from '../../source/commands/wizard.js';
import type { WizardResult } from '../../source/wizard/services.js';
import { WizardApp } from '../../screens/wizard/app.js';
import { FakeHost } from '../helpers/fake-host.js';
import { frame, KEY, press, typeText, waitFor, waitForFrame } from './helpers.js';
import { exampleLab, withoutMacs } from './seed.js';

const STATE = '/var/lib/lvs-setup-test';
let unmount: (() => void) | null = null;
afterEach(() => {
  unmount?.();
  unmount = null;
});

function start(host: FakeHost, dryRun: boolean) {
  const services = createWizardServices(host, {
    cwd: '/root/lab',
    dryRun,
    dryRunReason: dryRun ? (host.uid() === 0 ? 'flag' : 'not-root') : null,
  });
  const results: WizardResult[] = [];
  const inst = render(<WizardApp services={services} onExit={(r) => results.push(r)} />);
  unmount = inst.unmount;
  return { inst, results };
}

type Inst = ReturnType<typeof render>;

/**
 * Drive the wizard through the seed's NAT director up to the review. `configured`: the VM's NICs
 * already have the seed's addresses (keep ens37, make ens33 static to add the DNS servers).
 */
async function seedNatToReview(inst: Inst, configured = false) {
  await waitForFrame(inst, 'Enter continue');
  expect(frame(inst)).toMatch(
    configured
      ? /ens33 \*\s+UP\s+192\.168\.91\.141\/24\s+52:54:00:00:00:01/
      : /ens33\s+DOWN\s+-\s+52:54:00:00:00:01/,
  );
  await press(inst, KEY.enter, 'This host is');
  // Role: director, single, name lvs, lab seed-nat.
  await press(inst, KEY.enter, '› Directors');
  await press(inst, KEY.enter, '› Its name in the lab');
  await press(inst, KEY.ctrlU);
  await typeText(inst, 'lvs');
  await press(inst, KEY.enter, '› Lab name');
  await press(inst, KEY.ctrlU);
  await typeText(inst, 'seed-nat');
  await press(inst, KEY.enter, 'Forwarding mode');
  // Mode: NAT is proposed for a host with two NICs.
  expect(frame(inst)).toContain('(•) nat');
  expect(frame(inst)).toContain('gateway = DIP');
  await press(inst, KEY.enter, '› Service name');
  await press(inst, KEY.enter, '› VIP');
  if (configured) {
    // NAT: the director's public address is proposed as the VIP, as in the seed.
    expect(frame(inst)).toMatch(/› VIP\s+192\.168\.91\.141$/m);
  } else {
    await typeText(inst, '192.168.91');
    expect(frame(inst)).toContain('✘ expected an IPv4 address such as 192.168.91.148');
    await typeText(inst, '.141');
  }
  await press(inst, KEY.enter, '› Port');
  await press(inst, KEY.enter, '› Protocol');
  await press(inst, KEY.enter, '› Scheduler');
  await press(inst, KEY.up, '(•) lc ');
  await press(inst, KEY.up, '(•) wrr');
  await press(inst, KEY.enter, '› Persistence');
  await press(inst, KEY.ctrlU);
  await typeText(inst, '120');
  await press(inst, KEY.enter, 'Real servers of web 192.168.91.141:80/tcp (NAT, wrr)');
  // Real servers: add web1 and web2 (the address of web2 is proposed).
  await press(inst, KEY.enter, 'Item 1');
  await press(inst, KEY.enter, '› Address');
  await typeText(inst, '192.168.81.142');
  await press(inst, KEY.enter, '› Weight');
  await press(inst, KEY.enter, '› Its NIC');
  await press(inst, KEY.enter, '+ add a real server');
  await press(inst, 'a', 'Item 2');
  expect(frame(inst)).toContain('web2');
  await press(inst, KEY.enter, '› Address');
  expect(frame(inst)).toContain('192.168.81.143');
  await press(inst, KEY.enter, '› Weight');
  await press(inst, KEY.enter, '› Its NIC');
  await press(inst, KEY.enter, /2 web2\s+192\.168\.81\.143\s+1\s+ens33/);
  await press(inst, KEY.down, '›  + add');
  await press(inst, KEY.down, '›  → continue');
  if (configured) {
    await press(inst, KEY.enter, 'ens33 (UP, 192.168.91.141/24');
    expect(frame(inst)).toMatch(/› Use\s+\(•\) keep/);
    await press(inst, KEY.right, '(•) static');
    await press(inst, KEY.enter, /› Address\s+192\.168\.91\.141\/24/);
    await press(inst, KEY.enter, /› Gateway\s+192\.168\.91\.2/);
    await press(inst, KEY.enter, '› DNS');
    await typeText(inst, '192.168.91.2, 8.8.8.8');
    await press(inst, KEY.enter, /ens37 \(UP[^\n]*\n› Use\s+\(•\) keep/);
  } else {
    await press(inst, KEY.enter, 'ens33 (DOWN, no address');
    // Network: both NICs static.
    await press(inst, KEY.right, '(•) static');
    await press(inst, KEY.enter, '› Address');
    await typeText(inst, '192.168.91.141/24');
    await press(inst, KEY.enter, '› Gateway');
    await typeText(inst, '192.168.91.2');
    await press(inst, KEY.enter, '› DNS');
    await typeText(inst, '192.168.91.2, 8.8.8.8');
    await press(inst, KEY.enter, /ens37 \(DOWN[^\n]*\n› Use/);
    await press(inst, KEY.right, /› Use\s+\(•\) static/);
    await press(inst, KEY.enter);
    await typeText(inst, '192.168.81.141/24');
    await press(inst, KEY.enter, /› Gateway\s*$/m);
    await press(inst, KEY.enter, '› DNS');
  }
  await press(inst, KEY.enter, '› Firewall');
  await press(inst, KEY.right, '(•) disable');
  await press(inst, KEY.enter, 'Topology');
}

describe('the whole wizard on a simulated host', () => {
  it('configures the seed NAT director: review, save the lab file, apply, done', async () => {
    const host = new FakeHost({
      distro: 'rocky9',
      nics: [
        { name: 'ens33', addrs: ['192.168.91.141/24'] },
        { name: 'ens37', addrs: ['192.168.81.141/24'] },
      ],
      env: { LVS_SETUP_STATE_DIR: STATE },
    });
    for (const n of host.nics) n.up = true;
    host.defaultRoute = { gateway: '192.168.91.2', dev: 'ens33' };
    const { inst, results } = start(host, false);
    await seedNatToReview(inst, true);
    expect(frame(inst)).toContain(
      'client ──▶ 192.168.91.141:80/tcp ── lvs (this host) [NAT, wrr, sticky 120 s]',
    );
    expect(frame(inst)).toContain('├─▶ web1 192.168.81.142:80  weight 1');
    await waitForFrame(inst, /Plan: \d+ to change, \d+ already ok\./, 30000);
    // Save the lab file under the proposed name.
    await press(inst, 's', 'Save the lab file as: seed-nat.yaml');
    await press(inst, KEY.enter, 'Saved seed-nat.yaml (mode 0644)');
    const saved = host.text('/root/lab/seed-nat.yaml');
    const parsed = parseLab(saved ?? '');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const seed = exampleLab('seed-nat.yaml');
    expect(parsed.lab.file.services).toEqual(seed.services);
    expect(withoutMacs(parsed.lab.file.hosts.lvs!)).toEqual(seed.hosts.lvs);
    // Saving again asks before replacing the file.
    await press(inst, 's', 'Save the lab file as');
    await press(inst, KEY.enter, 'seed-nat.yaml exists. Overwrite it? (y/N)');
    await press(inst, 'n', 'Save the lab file as');
    inst.stdin.write(KEY.esc);
    await waitFor(() => !frame(inst).includes('Save the lab file as'), 'the prompt to close');
    // Apply.
    await press(inst, 'a', 'Apply these changes to this host now? (y/N)');
    await press(inst, 'y');
    // The recipes are the core's: whether every step succeeds on the simulated host is their
    // business (test/core); this test follows the wizard through execute to done either way.
    await waitForFrame(inst, /ok=\d+ changed=[1-9]\d* failed=[01]/, 30000);
    expect(frame(inst)).toMatch(/~ \[\d+\/\d+\] /);
    const failed = /failed=1/.test(frame(inst));
    if (failed) expect(frame(inst)).toContain('Re-running resumes');
    await press(
      inst,
      KEY.enter,
      failed ? 'Stopped at a failed step' : 'Host lvs is configured: ok=',
    );
    expect(frame(inst)).toContain('npx lvs-setup apply --lab seed-nat.yaml --host web1');
    expect(frame(inst)).toContain('lvs-setup monitor');
    expect(host.sysctl('net.ipv4.ip_forward')).toBe('1');
    inst.stdin.write(KEY.enter);
    await waitFor(() => results.length === 1, 'the wizard to exit');
    expect(results[0]?.outcome.kind).toBe('done');
    expect(results[0]?.saved.lab).toBe('seed-nat.yaml');
  }, 60000);

  it('without root: the review is the end; saves the lab file and the 0700 script', async () => {
    const host = new FakeHost({
      distro: 'rocky9',
      nics: [{ name: 'ens33' }, { name: 'ens37' }],
      uid: 1000,
    });
    const { inst, results } = start(host, true);
    await waitForFrame(inst, 'Not root: only a dry run is possible');
    await seedNatToReview(inst);
    await waitForFrame(inst, /Plan: \d+ to change/, 30000);
    expect(frame(inst)).toContain('Not root: the review is the end');
    expect(frame(inst)).not.toContain('a apply');
    await press(inst, 'x', 'Save the script as: seed-nat-lvs.sh');
    await press(inst, KEY.enter, 'Saved seed-nat-lvs.sh (mode 0700)');
    expect(host.text('/root/lab/seed-nat-lvs.sh')).toMatch(/^#!\/bin\/sh/);
    await press(inst, 's', 'Save the lab file as');
    await press(inst, KEY.enter, 'Saved seed-nat.yaml');
    inst.stdin.write('q');
    await waitFor(() => results.length === 1, 'the wizard to exit');
    expect(results[0]?.outcome.kind).toBe('reviewed');
    expect(results[0]?.otherHosts.map((h) => h.host)).toEqual(['web1', 'web2']);
  }, 60000);

  it('Esc goes back a screen without losing answers; Ctrl-C quits cleanly', async () => {
    const host = new FakeHost({
      distro: 'debian12',
      nics: [{ name: 'eth0', addrs: ['10.0.0.5/24'] }],
    });
    const { inst, results } = start(host, true);
    await waitForFrame(inst, 'Enter continue');
    await press(inst, KEY.enter, 'This host is');
    await press(inst, KEY.enter, '› Directors');
    await press(inst, KEY.enter, '› Its name in the lab');
    await press(inst, KEY.enter, '› Lab name');
    await press(inst, KEY.enter, 'Forwarding mode');
    // One NIC: DR is proposed; the VIP proposal is 7 above the host's address.
    expect(frame(inst)).toContain('(•) dr');
    await press(inst, KEY.enter, '› Service name');
    expect(frame(inst)).toContain('10.0.0.12');
    await press(inst, KEY.tab, '› VIP');
    await press(inst, KEY.backspace, /› VIP\s+10\.0\.0\.1$/m);
    await press(inst, KEY.esc, 'Forwarding mode');
    await press(inst, KEY.enter, '› Service name');
    expect(frame(inst)).toMatch(/VIP\s+10\.0\.0\.1\s/);
    inst.stdin.write(KEY.ctrlC);
    await waitFor(() => results.length === 1, 'the wizard to exit');
    expect(results[0]?.outcome).toEqual({ kind: 'interrupted', screen: 'service' });
    expect(results[0]?.saved).toEqual({ lab: null, sh: null });
  }, 30000);
});
