import { describe, expect, it } from 'vitest';
import { parseLab } from '../../source/config/load.js';
import { createWizardServices } from '../../source/commands/wizard.js';
import { PromptCancelled, runPlain, type Prompter } from '../../source/wizard/plain.js';
import { FakeHost } from '../helpers/fake-host.js';
import { captureIo } from '../helpers/io.js';
import { exampleLab, withoutMacs } from './seed.js';

type Step = [RegExp, string | boolean | 'CANCEL'];

/**
 * A scripted user: each prompt whose message matches the next step gets that answer; any other
 * prompt is answered with its default (Enter). Every prompt is recorded.
 */
function scripted(steps: Step[]) {
  const asked: string[] = [];
  const validations: Array<{ message: string; value: string; result: string | true }> = [];
  const next = (message: string): Step[1] | undefined => {
    asked.push(message);
    if (asked.length > 300) throw new Error('too many prompts');
    const step = steps[0];
    if (step && step[0].test(message)) {
      steps.shift();
      if (step[1] === 'CANCEL') throw new PromptCancelled('cancelled');
      return step[1];
    }
    return undefined;
  };
  const prompter: Prompter = {
    async select(message, choices, initial) {
      const v = next(message);
      const value = typeof v === 'string' ? v : initial;
      if (!choices.some((c) => c.name === value)) throw new Error(`${message}: no choice ${value}`);
      return value;
    },
    async input(message, initial, validate) {
      const v = next(message);
      const value = typeof v === 'string' ? v : initial;
      const result = validate(value);
      validations.push({ message, value, result });
      if (result !== true) throw new Error(`${message}: ${value} rejected: ${result}`);
      return value;
    },
    async confirm(message, initial) {
      const v = next(message);
      return typeof v === 'boolean' ? v : initial;
    },
  };
  return { prompter, asked, validations, left: steps };
}

function seedHost(uid = 1000) {
  return new FakeHost({ distro: 'rocky9', nics: [{ name: 'ens33' }, { name: 'ens37' }], uid });
}

const seedScript = (): Step[] => [
  [/^3\. Role — Its name in the lab/, 'lvs'],
  [/Role — Lab name/, 'seed-nat'],
  [/Service — VIP/, '192.168.91.141'],
  [/Service — Scheduler/, 'wrr'],
  [/Service — Persistence/, '120'],
  [/Real servers 1 — Address/, '192.168.81.142'],
  [/Real servers$/, 'add'],
  [/Network — Use/, 'static'],
  [/Network — Address/, '192.168.91.141/24'],
  [/Network — Gateway/, '192.168.91.2'],
  [/Network — DNS/, '192.168.91.2, 8.8.8.8'],
  [/Network — Use/, 'static'],
  [/Network — Address/, '192.168.81.141/24'],
  [/Firewall — Firewall/, 'disable'],
];

describe('--plain: the same questions as numbered line prompts', () => {
  it('walks the seed NAT director and saves the same lab file', async () => {
    const host = seedHost();
    const services = createWizardServices(host, {
      cwd: '/home/u',
      dryRun: true,
      dryRunReason: 'not-root',
    });
    const user = scripted(seedScript());
    const io = captureIo();
    const result = await runPlain(services, user.prompter, io);
    expect(user.left).toEqual([]);
    expect(result.outcome.kind).toBe('reviewed');
    expect(result.saved.lab).toBe('seed-nat.yaml');
    // Numbered prompts, in the order of the screens.
    expect(user.asked[0]).toBe('1. Role — This host is');
    expect(user.asked).toContain('6. Service — Service name');
    const out = io.stdout();
    expect(out).toContain('Not root: only a dry run is possible');
    expect(out).toContain(
      'client ──▶ 192.168.91.141:80/tcp ── lvs (this host) [NAT, wrr, sticky 120 s]',
    );
    expect(out).toMatch(/Plan: \d+ to change, \d+ already ok\./);
    expect(out).toContain('Saved seed-nat.yaml (mode 0644).');
    const saved = parseLab(host.text('/home/u/seed-nat.yaml') ?? '');
    if (!saved.ok) throw new Error(JSON.stringify(saved.issues));
    const seed = exampleLab('seed-nat.yaml');
    expect(saved.lab.file.services).toEqual(seed.services);
    expect(withoutMacs(saved.lab.file.hosts.lvs!)).toEqual(seed.hosts.lvs);
  });

  it('validates each answer with the schema’s words and goes back on <', async () => {
    const services = createWizardServices(seedHost(), {
      cwd: '/home/u',
      dryRun: true,
      dryRunReason: 'flag',
    });
    const user = scripted([
      [/Service — Service name/, '<'],
      [/Mode/, 'dr'],
      [/Review/, 'CANCEL'],
    ]);
    const io = captureIo();
    const result = await runPlain(services, user.prompter, io).catch((e: Error) => e);
    // The script ran into an invalid (empty) VIP: the validation said why, in the schema's words.
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toContain('expected an IPv4 address such as 192.168.91.148');
    const modes = user.asked.filter((m) => /Forwarding mode — Mode/.test(m));
    expect(modes).toHaveLength(2);
  });

  it('Ctrl-C at a prompt ends cleanly with nothing saved', async () => {
    const host = seedHost();
    const services = createWizardServices(host, {
      cwd: '/home/u',
      dryRun: true,
      dryRunReason: 'flag',
    });
    const user = scripted([[/Lab name/, 'CANCEL']]);
    const result = await runPlain(services, user.prompter, captureIo());
    expect(result.outcome).toEqual({ kind: 'interrupted', screen: 'role' });
    expect(result.saved).toEqual({ lab: null, sh: null });
    expect([...host.files.keys()].filter((p) => p.startsWith('/home/u'))).toEqual([]);
  });

  it('as root: applies after the confirmation and prints the recap and the other hosts', async () => {
    const host = new FakeHost({
      distro: 'rocky9',
      nics: [
        { name: 'ens33', addrs: ['192.168.91.141/24'] },
        { name: 'ens37', addrs: ['192.168.81.141/24'] },
      ],
      env: { LVS_SETUP_STATE_DIR: '/var/lib/lvs-setup-test' },
    });
    for (const n of host.nics) n.up = true;
    host.defaultRoute = { gateway: '192.168.91.2', dev: 'ens33' };
    const services = createWizardServices(host, {
      cwd: '/root',
      dryRun: false,
      dryRunReason: null,
    });
    const user = scripted([
      [/Its name in the lab/, 'lvs'],
      [/Lab name/, 'seed-nat'],
      [/Service — Scheduler/, 'wrr'],
      [/Real servers 1 — Address/, '192.168.81.142'],
      [/Firewall — Firewall/, 'disable'],
      [/Review/, 'save'],
      [/Review/, 'apply'],
      [/Apply these changes/, true],
    ]);
    const io = captureIo();
    const result = await runPlain(services, user.prompter, io);
    expect(user.left).toEqual([]);
    expect(result.outcome.kind).toBe('done');
    expect(io.stdout()).toMatch(/ok=\d+ changed=[1-9]\d* failed=\d/);
    expect(io.stdout()).toContain('npx lvs-setup apply --lab seed-nat.yaml --host web1');
    expect(io.stdout()).toContain('lvs-setup monitor');
  });
});
