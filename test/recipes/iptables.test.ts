import { describe, expect, it } from 'vitest';
import {
  CONNTRACK_FILE,
  IPTABLES_UNIT,
  iptablesRecipe,
  natRules,
  ruleLine,
} from '../../recipes/iptables.js';
import { modulesRecipe } from '../../recipes/modules.js';
import { makeContext } from '../../source/plan/plan.js';
import {
  KINDS,
  applySteps,
  changedIds,
  commandLines,
  commandsOf,
  decide,
  factsFor,
  fileWrites,
  hasShellcheck,
  labFromYaml,
  loadExample,
  shScript,
  shSyntax,
  shellcheck,
  stepsFor,
} from '../helpers/recipe-harness.js';

const nat = loadExample('seed-nat');
const RULE = '-A POSTROUTING -s 192.168.81.0/24 -o ens33 -j MASQUERADE';
const UNIT = `/etc/systemd/system/${IPTABLES_UNIT}`;
const WANTS = `/etc/systemd/system/multi-user.target.wants/${IPTABLES_UNIT}`;

/** Facts after the modules step: ip_vs is loaded, so net.ipv4.vs.conntrack exists (0). */
function loaded(kind: (typeof KINDS)[number]) {
  const fresh = factsFor(kind, nat, 'lvs');
  return applySteps(stepsFor(modulesRecipe, nat, 'lvs', fresh), fresh);
}

describe.each(KINDS)('iptables on %s', (kind) => {
  it('the NAT director gets exactly one POSTROUTING rule for the real servers’ subnet', () => {
    const d = decide(iptablesRecipe, nat, 'lvs', loaded(kind));
    const rules = commandsOf(d).filter((c) => c.argv[0] === 'iptables');
    expect(rules.map((c) => c.argv.join(' '))).toEqual([
      'iptables -w -t nat -A POSTROUTING -s 192.168.81.0/24 -o ens33 -j MASQUERADE',
    ]);
    expect(rules[0]?.inverse).toEqual([
      {
        argv: [
          'iptables',
          '-w',
          '-t',
          'nat',
          '-D',
          'POSTROUTING',
          '-s',
          '192.168.81.0/24',
          '-o',
          'ens33',
          '-j',
          'MASQUERADE',
        ],
      },
    ]);
    expect(commandLines(d)).toContain('sysctl -w net.ipv4.vs.conntrack=1');
  });

  it('none when the facts already show it (as iptables -t nat -S prints it)', () => {
    const facts = loaded(kind);
    facts.iptablesNat = [...(facts.iptablesNat ?? []), RULE];
    const d = decide(iptablesRecipe, nat, 'lvs', facts);
    expect(commandLines(d).some((l) => l.startsWith('iptables'))).toBe(false);
  });

  it('no change once applied; no step changes anything the second time', () => {
    const facts = loaded(kind);
    const after = applySteps(stepsFor(iptablesRecipe, nat, 'lvs', facts), facts);
    expect(after.iptablesNat?.filter((l) => l === RULE)).toHaveLength(1);
    expect(changedIds(decide(iptablesRecipe, nat, 'lvs', after))).toEqual([]);
  });

  it('no change when the host already matches, built by hand', () => {
    const facts = loaded(kind);
    const first = fileWrites(decide(iptablesRecipe, nat, 'lvs', facts));
    facts.iptablesNat = ['-P PREROUTING ACCEPT', '-P POSTROUTING ACCEPT', RULE];
    facts.sysctl['net.ipv4.vs.conntrack'] = '1';
    const unit = first.get(UNIT);
    const conf = first.get(CONNTRACK_FILE);
    if (!unit || !conf) throw new Error('expected the unit and the sysctl file');
    facts.files[UNIT] = { content: unit.content, mode: 0o644 };
    facts.files[WANTS] = { content: unit.content, mode: 0o644 };
    facts.files[CONNTRACK_FILE] = { content: conf.content, mode: 0o644 };
    const d = decide(iptablesRecipe, nat, 'lvs', facts);
    expect(d.map((x) => [x.step.id, x.decision.status])).toEqual([
      ['iptables:nat:192.168.81.0/24:ens33', 'ok'],
      ['iptables:persist', 'ok'],
      ['iptables:sysctl:net.ipv4.vs.conntrack', 'ok'],
      ['iptables:sysctl:file', 'ok'],
    ]);
  });

  it('the script passes sh -n (and shellcheck when installed)', () => {
    const facts = loaded(kind);
    const script = shScript(decide(iptablesRecipe, nat, 'lvs', facts), facts, 'lvs');
    expect(shSyntax(script)).toEqual({ ok: true, output: '' });
    if (hasShellcheck) expect(shellcheck(script).output).toBe('');
  });
});

describe('iptables: the rule', () => {
  it('never flushes or deletes chains of the nat table', () => {
    const lines = commandLines(decide(iptablesRecipe, nat, 'lvs', loaded('centos7')));
    expect(lines.some((l) => / -[FXZ]( |$)/.test(l))).toBe(false);
    const unit =
      fileWrites(decide(iptablesRecipe, nat, 'lvs', loaded('centos7'))).get(UNIT)?.content ?? '';
    expect(unit).not.toMatch(/ -[FXZ] /);
  });

  it('is printed back exactly as the facts hold it', () => {
    const ctx = makeContext(nat, 'lvs', loaded('centos7'));
    expect(natRules(ctx).map(ruleLine)).toEqual([RULE]);
  });

  it('says when iptables is missing (the packages step installs it)', () => {
    const facts = loaded('debian12');
    facts.iptablesNat = null;
    const d = decide(iptablesRecipe, nat, 'lvs', facts);
    expect(d[0]?.decision.reason).toBe(
      'iptables is not installed yet (the packages step installs it)',
    );
  });

  it('one rule per subnet even with several NAT services and real servers', () => {
    const lab = labFromYaml(`
name: two-nat
services:
  - name: web
    vip: 192.168.91.141
    port: 80
    mode: nat
    real_servers: [{ host: web1 }, { host: web2 }]
  - name: alt
    vip: 192.168.91.141
    port: 8080
    mode: nat
    real_servers: [{ host: web1 }]
hosts:
  lvs:
    role: director
    interfaces:
      ens33: { address: 192.168.91.141/24, gateway: 192.168.91.2 }
      ens37: { address: 192.168.81.141/24 }
  web1:
    role: real-server
    interfaces:
      ens33: { address: 192.168.81.142/24, gateway: 192.168.81.141 }
  web2:
    role: real-server
    interfaces:
      ens33: { address: 192.168.81.143/24, gateway: 192.168.81.141 }
`);
    const facts = factsFor('centos7', lab, 'lvs');
    const lines = commandLines(decide(iptablesRecipe, lab, 'lvs', facts)).filter((l) =>
      l.startsWith('iptables'),
    );
    expect(lines).toEqual([
      'iptables -w -t nat -A POSTROUTING -s 192.168.81.0/24 -o ens33 -j MASQUERADE',
    ]);
  });

  it('nothing for a one-armed NAT (real servers on the VIP’s subnet), DR/TUN directors, real servers', () => {
    const lab = labFromYaml(`
name: one-arm
services:
  - { name: web, vip: 192.168.91.140, port: 80, mode: nat, real_servers: [{ host: web1 }] }
hosts:
  lvs:
    role: director
    interfaces:
      ens33: { address: 192.168.91.141/24, gateway: 192.168.91.2 }
  web1:
    role: real-server
    interfaces:
      ens33: { address: 192.168.91.142/24, gateway: 192.168.91.141 }
`);
    expect(stepsFor(iptablesRecipe, lab, 'lvs', factsFor('centos7', lab, 'lvs'))).toEqual([]);
    const dr = loadExample('seed-dr');
    expect(stepsFor(iptablesRecipe, dr, 'lvs', factsFor('centos7', dr, 'lvs'))).toEqual([]);
    expect(stepsFor(iptablesRecipe, nat, 'web1', factsFor('centos7', nat, 'web1'))).toEqual([]);
  });
});

describe('iptables: at boot', () => {
  const d = decide(iptablesRecipe, nat, 'lvs', loaded('rocky9'));
  const unit = fileWrites(d).get(UNIT)?.content ?? '';

  it('a oneshot unit deletes then appends the rule (never two), and removes it on stop', () => {
    expect(unit).toContain(
      [
        'Type=oneshot',
        'RemainAfterExit=yes',
        'ExecStart=-/usr/sbin/iptables -w -t nat -D POSTROUTING -s 192.168.81.0/24 -o ens33 -j MASQUERADE',
        'ExecStart=/usr/sbin/iptables -w -t nat -A POSTROUTING -s 192.168.81.0/24 -o ens33 -j MASQUERADE',
        'ExecStop=-/usr/sbin/iptables -w -t nat -D POSTROUTING -s 192.168.81.0/24 -o ens33 -j MASQUERADE',
      ].join('\n'),
    );
    expect(unit).toContain('Before=network-pre.target shutdown.target\n');
    expect(unit).toContain('WantedBy=multi-user.target\n');
  });

  it('is written, reloaded and enabled, not started; undo disables it', () => {
    const enable = commandsOf(d).find((c) => c.argv[1] === 'enable');
    expect(enable).toEqual({
      kind: 'command',
      argv: ['systemctl', 'enable', IPTABLES_UNIT],
      inverse: [{ argv: ['systemctl', 'disable', IPTABLES_UNIT] }],
    });
    expect(commandLines(d)).toContain('systemctl daemon-reload');
    expect(commandLines(d).some((l) => l.startsWith('systemctl start'))).toBe(false);
  });

  it('a unit written but not enabled is only enabled', () => {
    const facts = loaded('rocky9');
    facts.files[UNIT] = { content: unit, mode: 0o644 };
    const persist = decide(iptablesRecipe, nat, 'lvs', facts).find(
      (x) => x.step.id === 'iptables:persist',
    );
    expect(persist?.decision.status === 'change' && persist.decision.actions).toEqual([
      {
        kind: 'command',
        argv: ['systemctl', 'enable', IPTABLES_UNIT],
        inverse: [{ argv: ['systemctl', 'disable', IPTABLES_UNIT] }],
      },
    ]);
  });

  it('net.ipv4.vs.conntrack=1 in its own sysctl.d file, applied after modules load', () => {
    expect(fileWrites(d).get(CONNTRACK_FILE)?.content).toMatch(/\nnet\.ipv4\.vs\.conntrack = 1\n$/);
  });

  it('conntrack: says when ip_vs is not loaded yet, and undo restores the old value', () => {
    const fresh = factsFor('centos7', nat, 'lvs');
    const step = decide(iptablesRecipe, nat, 'lvs', fresh).find(
      (x) => x.step.id === 'iptables:sysctl:net.ipv4.vs.conntrack',
    );
    expect(step?.decision.reason).toBe(
      'net.ipv4.vs.conntrack does not exist yet (ip_vs is not loaded)',
    );
    const set = commandsOf(decide(iptablesRecipe, nat, 'lvs', loaded('centos7'))).find(
      (c) => c.argv[0] === 'sysctl',
    );
    expect(set?.inverse).toEqual([{ argv: ['sysctl', '-w', 'net.ipv4.vs.conntrack=0'] }]);
  });
});
