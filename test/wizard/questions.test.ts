import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { parseLab } from '../../source/config/load.js';
import { SCHEDULERS, SCHEDULER_HELP } from '../../source/config/schema.js';
import { emptyAnswers, setValue, type Answers } from '../../source/wizard/answers.js';
import {
  listFields,
  screenErrors,
  screenFields,
  toNumber,
  type ScreenId,
} from '../../source/wizard/questions.js';
import { factsWith, seedDirectorFacts } from './helpers.js';
import { seedNatAnswers } from './seed.js';

const seedText = readFileSync(new URL('../../examples/seed-nat.yaml', import.meta.url), 'utf8');
const drHaText = readFileSync(
  new URL('../../examples/seed-dr-keepalived.yaml', import.meta.url),
  'utf8',
);

/** The message `apply --lab` gives for the lab with one value replaced. */
function labMessage(text: string, path: Array<string | number>, bad: unknown): string | undefined {
  const data = parse(text) as Record<string, unknown>;
  let cur: Record<string | number, unknown> = data;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
  cur[path[path.length - 1] as string | number] = bad;
  const r = parseLab(stringify(data));
  if (r.ok) return undefined;
  const want = path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '')
    .replace(/\.\[/g, '[');
  return r.issues.find((i) => i.path === want || i.path.startsWith(`${want}[`))?.message;
}

function fieldError(screen: ScreenId, answers: Answers, id: string, facts = seedDirectorFacts()) {
  const ctx = { answers, facts };
  const fields = [
    ...screenFields(screen, ctx),
    ...answers.realServers.flatMap((_, i) => listFields(ctx, 'realServers', i)),
    ...answers.exports.flatMap((_, i) => listFields(ctx, 'exports', i)),
  ];
  const f = fields.find((x) => x.id === id);
  if (!f) throw new Error(`no field ${id} on ${screen}`);
  return f.error;
}

const haAnswers = () => setValue(setValue(seedNatAnswers(), 'ha', 'MASTER'), 'mode', 'dr');

// field id, screen, typed value, lab-file path, the value as it would stand in the lab file
const CASES: Array<[string, ScreenId, string, Array<string | number>, unknown, string?]> = [
  ['service.vip', 'service', '192.168.91', ['services', 0, 'vip'], '192.168.91'],
  ['service.vip', 'service', '300.1.1.1', ['services', 0, 'vip'], '300.1.1.1'],
  ['service.port', 'service', '0', ['services', 0, 'port'], 0],
  ['service.port', 'service', '70000', ['services', 0, 'port'], 70000],
  ['service.port', 'service', '8o', ['services', 0, 'port'], '8o'],
  ['service.port', 'service', '80.5', ['services', 0, 'port'], 80.5],
  ['service.persistence', 'service', '3000000', ['services', 0, 'persistence'], 3000000],
  ['service.persistence', 'service', '-1', ['services', 0, 'persistence'], -1],
  ['service.name', 'service', 'web site', ['services', 0, 'name'], 'web site'],
  ['labName', 'role', 'my lab!', ['name'], 'my lab!'],
  [
    'nic.ens33.address',
    'network',
    '192.168.91.141',
    ['hosts', 'lvs', 'interfaces', 'ens33', 'address'],
    '192.168.91.141',
  ],
  [
    'nic.ens33.address',
    'network',
    '192.168.91.141/33',
    ['hosts', 'lvs', 'interfaces', 'ens33', 'address'],
    '192.168.91.141/33',
  ],
  [
    'nic.ens33.gateway',
    'network',
    'router',
    ['hosts', 'lvs', 'interfaces', 'ens33', 'gateway'],
    'router',
  ],
  [
    'nic.ens33.dns',
    'network',
    '1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4',
    ['hosts', 'lvs', 'interfaces', 'ens33', 'dns'],
    ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4'],
  ],
];

describe('every input rejects what the lab-file schema rejects, with the same words', () => {
  it.each(CASES)('%s (%s screen) typed as %j', (id, screen, typed, path, inLab) => {
    const answers = setValue(seedNatAnswers(), id, typed);
    const mine = fieldError(screen, answers, id);
    const theirs = labMessage(seedText, path, inLab);
    expect(theirs).toBeDefined();
    expect(mine).toBe(theirs);
  });

  it('real server weight, export path and options, HA fields', () => {
    const rs = { ...seedNatAnswers() };
    const bad = {
      ...rs,
      realServers: [{ name: 'web1', address: '192.168.81.142', weight: '70000', nic: 'ens33' }],
    };
    expect(fieldError('real-servers', bad, 'rs.0.weight')).toBe(
      labMessage(seedText, ['services', 0, 'real_servers', 0, 'weight'], 70000),
    );
    const addr = {
      ...rs,
      realServers: [{ name: 'web1', address: '192.168.81', weight: '1', nic: 'ens33' }],
    };
    expect(fieldError('real-servers', addr, 'rs.0.address')).toBe(
      labMessage(seedText, ['services', 0, 'vip'], '192.168.81'),
    );
    const ex = { ...rs, exports: [{ path: 'data', clients: '*', options: 'rw,SYNC' }] };
    expect(fieldError('exports', ex, 'export.0.path')).toBe(
      labMessage(seedText, ['hosts', 'nfs', 'exports', 0, 'path'], 'data'),
    );
    expect(fieldError('exports', ex, 'export.0.options')).toBe(
      labMessage(seedText, ['hosts', 'nfs', 'exports', 0, 'options'], ['rw', 'SYNC']),
    );
    const ha = haAnswers();
    expect(fieldError('ha', setValue(ha, 'ha.authPass', '123456789'), 'ha.authPass')).toBe(
      labMessage(drHaText, ['vrrp', 'auth_pass'], '123456789'),
    );
    expect(fieldError('ha', setValue(ha, 'ha.routerId', '256'), 'ha.routerId')).toBe(
      labMessage(drHaText, ['vrrp', 'router_id'], 256),
    );
    expect(fieldError('ha', setValue(ha, 'ha.priority', '0'), 'ha.priority')).toBe(
      labMessage(drHaText, ['hosts', 'lvs1', 'ha', 'priority'], 0),
    );
  });

  it('accepts the seed values and the defaults', () => {
    for (const s of [
      'role',
      'mode',
      'service',
      'network',
      'firewall',
      'real-servers',
    ] as ScreenId[])
      expect(screenErrors(s, { answers: seedNatAnswers(), facts: seedDirectorFacts() })).toEqual(
        [],
      );
  });

  it('offers all 14 schedulers with the one-line help, wlc by default', () => {
    const ctx = { answers: emptyAnswers(), facts: seedDirectorFacts() };
    const f = screenFields('service', ctx).find((x) => x.id === 'service.scheduler');
    expect(f?.options.map((o) => o.value)).toEqual([...SCHEDULERS]);
    expect(f?.options.find((o) => o.value === 'sed')?.help).toBe(SCHEDULER_HELP.sed);
    expect(f?.value).toBe('wlc');
  });

  it('refuses NAT for HA directors with the resolver’s words', () => {
    const a = setValue(setValue(emptyAnswers(), 'ha', 'BACKUP'), 'mode', 'nat');
    const errs = screenErrors('mode', { answers: a, facts: seedDirectorFacts() });
    expect(errs[0]).toMatch(/HA directors with NAT need a floating gateway address/);
  });

  it('shows address fields only for a NIC set to static, and needs one NIC in use', () => {
    const facts = factsWith([{ name: 'eth0', addr: '10.0.0.2/24' }, { name: 'eth1' }]);
    const ctx = { answers: emptyAnswers(), facts };
    expect(screenFields('network', ctx).map((f) => f.id)).toEqual(['nic.eth0.use', 'nic.eth1.use']);
    const eth1 = screenFields('network', ctx)[1];
    expect(eth1?.options.map((o) => o.value)).toEqual(['static', 'skip']);
    const st = setValue(emptyAnswers(), 'nic.eth1.use', 'static');
    expect(screenFields('network', { answers: st, facts }).map((f) => f.id)).toContain(
      'nic.eth1.dns',
    );
    const none = setValue(emptyAnswers(), 'nic.eth0.use', 'skip');
    expect(screenErrors('network', { answers: none, facts })).toContain(
      'expected at least one interface (keep or static)',
    );
  });

  it('reads numbers strictly', () => {
    expect(toNumber('')).toBeUndefined();
    expect(toNumber(' 80 ')).toBe(80);
    expect(toNumber('1e3')).toBeNaN();
    expect(toNumber('0x50')).toBeNaN();
  });
});
