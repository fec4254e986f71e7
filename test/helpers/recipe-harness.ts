import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseLab } from '../../source/config/load.js';
import type { Lab } from '../../source/config/resolve.js';
import { targetFacts } from '../../source/facts/target.js';
import type { DistroKey, HostFacts } from '../../source/facts/types.js';
import { makeContext, type Plan } from '../../source/plan/plan.js';
import { renderSh } from '../../source/plan/render.js';
import type { Action, CommandAction, Decision, FileAction, Step } from '../../source/plan/step.js';
import type { Recipe } from '../../recipes/context.js';

/**
 * A harness for recipe tests: labs from examples/ (or YAML text), facts of a fresh VM per distro
 * (plus `networkd`: the real-kernel lab guests, a Debian 12 root without ifupdown, netplan or
 * NetworkManager), decisions, and a simulation of what the actions do to the facts — addresses,
 * links, the default route, iptables nat rules, sysctls, units, modules and files — so "apply, then
 * plan again" can be checked without a host. Also: the steps as a `--format sh` script, and
 * `sh -n` / `shellcheck -s sh` on it.
 */

export type FactsKind = DistroKey | 'networkd';

export const KINDS = [
  'centos7',
  'rocky9',
  'debian12',
  'ubuntu24',
  'networkd',
] as const satisfies readonly FactsKind[];
/** The kinds the recipe tests cover. */
export type TestedKind = (typeof KINDS)[number];

const EXAMPLES = new URL('../../examples/', import.meta.url);

export function labFromYaml(text: string): Lab {
  const r = parseLab(text, 'test lab');
  if (!r.ok) throw new Error(`invalid lab: ${JSON.stringify(r.issues)}`);
  return r.lab;
}

export function exampleYaml(name: string): string {
  return readFileSync(new URL(`${name}.yaml`, EXAMPLES), 'utf8');
}

export function loadExample(name: string): Lab {
  return labFromYaml(exampleYaml(name));
}

/** Fresh-VM facts for a lab host; `networkd` = Debian 12 with only systemd-networkd (disabled). */
export function factsFor(kind: FactsKind, lab: Lab, host: string): HostFacts {
  const facts = structuredClone(
    targetFacts(kind === 'networkd' ? 'debian12' : kind, lab.file.hosts[host] ?? null),
  );
  if (kind === 'networkd') {
    facts.networkConfig = 'networkd';
    facts.services.networking = { present: false, active: false, enabled: false };
    facts.services['systemd-networkd'] = { present: true, active: false, enabled: false };
    facts.packages.iptables = 'installed';
    facts.iptablesNat = [
      '-P PREROUTING ACCEPT',
      '-P INPUT ACCEPT',
      '-P OUTPUT ACCEPT',
      '-P POSTROUTING ACCEPT',
    ];
  }
  return facts;
}

export interface Decided {
  step: Step;
  decision: Decision;
}

export function stepsFor(recipe: Recipe, lab: Lab, host: string, facts: HostFacts): Step[] {
  return recipe(makeContext(lab, host, facts), facts);
}

export function decideAll(steps: readonly Step[], facts: HostFacts): Decided[] {
  return steps.map((step) => ({ step, decision: step.decide(facts) }));
}

export function decide(recipe: Recipe, lab: Lab, host: string, facts: HostFacts): Decided[] {
  return decideAll(stepsFor(recipe, lab, host, facts), facts);
}

export function actionsOf(d: readonly Decided[]): Action[] {
  return d.flatMap((x) => (x.decision.status === 'change' ? x.decision.actions : []));
}

export function commandsOf(d: readonly Decided[]): CommandAction[] {
  return actionsOf(d).filter((a): a is CommandAction => a.kind === 'command');
}

/** Every command as one line, words joined by spaces. */
export function commandLines(d: readonly Decided[]): string[] {
  return commandsOf(d).map((a) => a.argv.join(' '));
}

export function fileWrites(d: readonly Decided[]): Map<string, FileAction> {
  const out = new Map<string, FileAction>();
  for (const a of actionsOf(d)) if (a.kind === 'file') out.set(a.path, a);
  return out;
}

export function changedIds(d: readonly Decided[]): string[] {
  return d.filter((x) => x.decision.status === 'change').map((x) => x.step.id);
}

// ---------------------------------------------------------------------------------- simulation

function nicOf(facts: HostFacts, name: string) {
  let nic = facts.nics.find((n) => n.name === name);
  if (!nic) {
    nic = { name, state: 'DOWN', mac: null, addresses: [] };
    facts.nics.push(nic);
  }
  return nic;
}

const opt = (argv: readonly string[], word: string) => {
  const i = argv.indexOf(word);
  return i >= 0 ? argv[i + 1] : undefined;
};

/** What one action does to the facts (what the network, vip and iptables recipes look at). */
export function simulate(facts: HostFacts, action: Action): void {
  if (action.kind === 'file') {
    facts.files[action.path] = { content: action.content, mode: action.mode };
    return;
  }
  if (action.kind === 'remove-file') {
    facts.files[action.path] = null;
    return;
  }
  const argv = action.argv;
  const [prog, ...args] = argv;
  if (prog === 'ip' && args[0] === 'addr') {
    const [address = '', prefix = '32'] = (args[2] ?? '').split('/');
    const nic = nicOf(facts, opt(args, 'dev') ?? '');
    if (args[1] === 'add') {
      if (nic.addresses.some((a) => a.address === address && a.prefix === Number(prefix))) {
        throw new Error(`${argv.join(' ')}: RTNETLINK answers: File exists`);
      }
      const label = opt(args, 'label');
      nic.addresses.push({
        address,
        prefix: Number(prefix),
        family: 'inet',
        ...(label ? { label } : {}),
      });
    } else if (args[1] === 'del') {
      nic.addresses = nic.addresses.filter((a) => a.address !== address);
    }
  } else if (prog === 'ip' && args[0] === 'link' && args[1] === 'set') {
    const name = args[2] === 'dev' ? args[3] : args[2];
    const nic = nicOf(facts, name ?? '');
    nic.state = args.includes('up') ? (nic.linkType === 'ether' ? 'UP' : 'UNKNOWN') : 'DOWN';
  } else if (prog === 'ip' && args[0] === 'route') {
    if (args[1] === 'replace' && args[2] === 'default') {
      facts.routes = {
        ...facts.routes,
        defaultGateway: opt(args, 'via') ?? null,
        defaultDev: opt(args, 'dev') ?? null,
      };
    } else if (args[1] === 'del' && args[2] === 'default') {
      facts.routes = { ...facts.routes, defaultGateway: null, defaultDev: null };
    }
  } else if (prog === 'iptables') {
    const a = args.filter((x) => x !== '-w');
    if (a[0] !== '-t' || a[1] !== 'nat') throw new Error(`unexpected ${argv.join(' ')}`);
    const rule = a.slice(3).join(' ');
    const rules = facts.iptablesNat ?? [];
    if (a[2] === '-A') facts.iptablesNat = [...rules, `-A ${rule}`];
    if (a[2] === '-D') {
      const i = rules.indexOf(`-A ${rule}`);
      if (i < 0) throw new Error(`${argv.join(' ')}: Bad rule (does a matching rule exist?)`);
      facts.iptablesNat = rules.filter((_, j) => j !== i);
    }
    if (a[2] === '-F' || a[2] === '-X') throw new Error('the nat table must never be flushed');
  } else if (prog === 'sysctl' && args[0] === '-w') {
    const [k = '', v = ''] = (args[1] ?? '').split('=');
    facts.sysctl[k] = v;
  } else if (prog === 'modprobe' && args[0] !== '-r') {
    for (const m of args) {
      if (!facts.modules.includes(m)) facts.modules.push(m);
      if (m === 'ip_vs') facts.sysctl['net.ipv4.vs.conntrack'] ??= '0';
      if (m === 'ipip' && !facts.nics.some((n) => n.name === 'tunl0')) {
        facts.nics.push({
          name: 'tunl0',
          state: 'DOWN',
          mac: null,
          addresses: [],
          linkType: 'ipip',
        });
      }
    }
  } else if (prog === 'systemctl') {
    const verb = args[0];
    const now = args.includes('--now');
    const unit = args.filter((x) => !x.startsWith('-'))[1] ?? '';
    const name = unit.replace(/\.service$/, '');
    const before = facts.services[name] ?? { present: true, active: false, enabled: false };
    const wants = `/etc/systemd/system/multi-user.target.wants/${name}.service`;
    if (verb === 'enable') {
      facts.services[name] = {
        ...before,
        present: true,
        enabled: true,
        active: before.active || now,
      };
      const unitFile = facts.files[`/etc/systemd/system/${name}.service`];
      if (unitFile) facts.files[wants] = unitFile;
    } else if (verb === 'disable') {
      facts.services[name] = { ...before, enabled: false, active: now ? false : before.active };
      facts.files[wants] = null;
    } else if (verb === 'start' || verb === 'restart') {
      facts.services[name] = { ...before, active: true };
    } else if (verb === 'stop') {
      facts.services[name] = { ...before, active: false };
    }
  }
}

/** Run the steps as the executor does: each decided against the facts the earlier ones left. */
export function applySteps(steps: readonly Step[], facts: HostFacts): HostFacts {
  const f = structuredClone(facts);
  for (const step of steps) {
    const d = step.decide(f);
    if (d.status === 'change') for (const a of d.actions) simulate(f, a);
  }
  return f;
}

// ---------------------------------------------------------------------------------- shell

/** The decided steps as the `--format sh` script the CLI would print. */
export function shScript(d: readonly Decided[], facts: HostFacts, host = 'test'): string {
  const plan: Plan = {
    lab: 'test-lab',
    host,
    role: 'test',
    factsSource: facts.source,
    distro: facts.os.prettyName,
    steps: d.map(({ step, decision }) => ({ step, decision })),
    secrets: [],
    warnings: [],
  };
  return renderSh(plan, '0.0.0-test');
}

export function shSyntax(script: string): { ok: boolean; output: string } {
  const r = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

export const hasShellcheck =
  spawnSync('shellcheck', ['--version'], { encoding: 'utf8' }).status === 0;

export function shellcheck(script: string): { ok: boolean; output: string } {
  const r = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: script, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
