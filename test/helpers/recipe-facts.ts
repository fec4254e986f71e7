import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { validateLab } from '../../source/config/load.js';
import type { Lab } from '../../source/config/resolve.js';
import { labSchema } from '../../source/config/schema.js';
import { targetFacts } from '../../source/facts/target.js';
import type { DistroKey, HostFacts, IpvsServiceEntry } from '../../source/facts/types.js';
import { makeContext } from '../../source/plan/plan.js';
import type { Action, Decision, Step } from '../../source/plan/step.js';
import type { PlanContext, Recipe } from '../../recipes/context.js';

/**
 * Facts and labs for recipe tests (ipvs, keepalived, nginx, nfs): the example labs, synthetic
 * fresh-VM facts per distro, and a small simulation of what the recipes' actions do to the facts,
 * so "apply, then plan again" can be checked without a host.
 */

export const DISTROS: readonly DistroKey[] = ['centos7', 'rocky9', 'debian12', 'ubuntu24'];

const EXAMPLES = new URL('../../examples/', import.meta.url);

/** An example lab file as plain data (to modify before `labFrom`). */
export function exampleData(name: string): Record<string, unknown> {
  return parseYaml(readFileSync(new URL(name, EXAMPLES), 'utf8')) as Record<string, unknown>;
}

/** A validated, resolved lab from data; throws with the issues when it is not valid. */
export function labFrom(data: unknown): Lab {
  const parsed = labSchema.parse(data);
  const result = validateLab(parsed);
  if (!result.ok) throw new Error(`invalid lab: ${JSON.stringify(result.issues)}`);
  return result.lab;
}

export function exampleLab(name: string): Lab {
  return labFrom(exampleData(name));
}

/** Fresh-VM facts of `distro` for a host of the lab, optionally changed by `mutate`. */
export function freshFacts(
  lab: Lab,
  host: string,
  distro: DistroKey,
  mutate?: (f: HostFacts) => void,
): HostFacts {
  const facts = structuredClone(targetFacts(distro, lab.file.hosts[host] ?? null));
  mutate?.(facts);
  return facts;
}

export interface Planned {
  ctx: PlanContext;
  facts: HostFacts;
  steps: Step[];
  decisions: Array<{ step: Step; decision: Decision }>;
}

/** One recipe's steps for a host, decided against the facts. */
export function planRecipe(recipe: Recipe, lab: Lab, host: string, facts: HostFacts): Planned {
  const ctx = makeContext(lab, host, facts);
  const steps = recipe(ctx, facts);
  return {
    ctx,
    facts,
    steps,
    decisions: steps.map((step) => ({ step, decision: step.decide(facts) })),
  };
}

export function changes(p: Planned): Array<{ id: string; actions: Action[]; reason: string }> {
  return p.decisions.flatMap(({ step, decision }) =>
    decision.status === 'change'
      ? [{ id: step.id, actions: decision.actions, reason: decision.reason }]
      : [],
  );
}

export function commandLines(actions: readonly Action[]): string[] {
  return actions.flatMap((a) => (a.kind === 'command' ? [a.argv.join(' ')] : []));
}

// ---------------------------------------------------------------------------------------------
// Simulation of the actions on the facts

/** Apply an `ipvsadm -R` batch to a table (the kernel's semantics for -A/-E/-D/-a/-e/-d/-C). */
export function applyIpvsBatch(
  table: readonly IpvsServiceEntry[],
  input: string,
): IpvsServiceEntry[] {
  const out: IpvsServiceEntry[] = structuredClone([...table]);
  for (const raw of input.split('\n')) {
    const text = raw.replace(/#.*$/, '').trim();
    if (!text) continue;
    const w = text.split(/\s+/);
    const opt = (flag: string) => {
      const i = w.indexOf(flag);
      return i >= 0 ? w[i + 1] : undefined;
    };
    const cmdWord = w[0];
    if (cmdWord === '-C') {
      out.length = 0;
      continue;
    }
    const kind = w.find((x) => x === '-t' || x === '-u' || x === '-f');
    if (!kind) throw new Error(`ipvsadm: no service in "${text}"`);
    const protocol = kind === '-t' ? 'tcp' : kind === '-u' ? 'udp' : 'fwmark';
    const address = opt(kind) ?? '';
    const idx = out.findIndex((s) => s.protocol === protocol && s.address === address);
    const svc = out[idx];
    const forwards = w.filter((x) => x === '-m' || x === '-g' || x === '-i');
    if (forwards.length > 1) throw new Error(`ipvsadm: two forwarding flags in "${text}"`);
    const forward = forwards[0] === '-m' ? 'masq' : forwards[0] === '-i' ? 'tunnel' : 'route';
    const real = opt('-r');
    const m = real ? /^(.*):(\d+)$/.exec(real) : null;
    const destAddr = m?.[1] ?? '';
    const destPort = Number(m?.[2] ?? 0);
    switch (cmdWord) {
      case '-A':
        if (svc) throw new Error(`ipvsadm: Service already exists: ${text}`);
        out.push({
          protocol,
          address,
          scheduler: opt('-s') ?? 'wlc',
          persistence: w.includes('-p') ? Number(opt('-p') ?? 300) : 0,
          destinations: [],
        });
        break;
      case '-E':
        if (!svc) throw new Error(`ipvsadm: No such service: ${text}`);
        svc.scheduler = opt('-s') ?? 'wlc';
        svc.persistence = w.includes('-p') ? Number(opt('-p') ?? 300) : 0;
        break;
      case '-D':
        if (!svc) throw new Error(`ipvsadm: No such service: ${text}`);
        out.splice(idx, 1);
        break;
      case '-a':
      case '-e':
      case '-d': {
        if (!svc) throw new Error(`ipvsadm: Service not defined: ${text}`);
        const di = svc.destinations.findIndex((d) => d.address === destAddr && d.port === destPort);
        if (cmdWord === '-a') {
          if (di >= 0) throw new Error(`ipvsadm: Destination already exists: ${text}`);
          svc.destinations.push({
            address: destAddr,
            port: destPort,
            forward,
            weight: Number(opt('-w') ?? 1),
          });
        } else if (di < 0) {
          throw new Error(`ipvsadm: No such destination: ${text}`);
        } else if (cmdWord === '-e') {
          svc.destinations[di] = {
            address: destAddr,
            port: destPort,
            forward,
            weight: Number(opt('-w') ?? 1),
          };
        } else {
          svc.destinations.splice(di, 1);
        }
        break;
      }
      default:
        throw new Error(`ipvsadm: unknown command in "${text}"`);
    }
  }
  return out;
}

function setUnit(facts: HostFacts, unit: string, change: { active?: boolean; enabled?: boolean }) {
  const name = unit.replace(/\.service$/, '');
  const before = facts.services[name] ?? { present: true, active: false, enabled: false };
  facts.services[name] = { ...before, present: true, ...change };
}

/** What one action does to the facts (the parts the four recipes look at). */
export function simulate(facts: HostFacts, action: Action): void {
  if (action.kind === 'file') {
    facts.files[action.path] = { content: action.content, mode: action.mode };
    return;
  }
  if (action.kind === 'remove-file') {
    facts.files[action.path] = null;
    return;
  }
  const [prog, ...args] = action.argv;
  if (prog === 'ipvsadm' && args[0] === '-R') {
    facts.ipvs.services = applyIpvsBatch(facts.ipvs.services ?? [], action.input ?? '');
    facts.ipvs.loaded = true;
  } else if (prog === 'systemctl') {
    const verb = args[0];
    const now = args.includes('--now');
    const unit = args.filter((a) => !a.startsWith('-'))[1] ?? '';
    if (verb === 'enable')
      setUnit(facts, unit, now ? { enabled: true, active: true } : { enabled: true });
    if (verb === 'disable')
      setUnit(facts, unit, now ? { enabled: false, active: false } : { enabled: false });
    if (verb === 'start' || verb === 'restart') setUnit(facts, unit, { active: true });
    if (verb === 'stop') setUnit(facts, unit, { active: false });
  } else if (prog === 'mkdir') {
    const path = args.filter((a) => !a.startsWith('-'))[0] ?? '';
    facts.files[path] ??= { content: '', mode: 0o755 };
  } else if (prog === 'mount' || prog === 'umount') {
    const target = args[0] ?? '';
    const mounts = (facts.files['/proc/mounts']?.content ?? '').split('\n').filter(Boolean);
    const kept = mounts.filter((l) => l.split(' ')[1] !== target);
    if (prog === 'mount') {
      const fstab = (facts.files['/etc/fstab']?.content ?? '').split('\n');
      const entry = fstab.map((l) => l.trim().split(/\s+/)).find((x) => x[1] === target);
      if (!entry) throw new Error(`mount: ${target} not in fstab`);
      kept.push(`${entry[0]} ${target} ${entry[2]} rw 0 0`);
    }
    facts.files['/proc/mounts'] = { content: `${kept.join('\n')}\n`, mode: 0o444 };
  }
}

/**
 * Run the steps like the executor does (each decided against the facts as the earlier steps left
 * them) on a copy of the facts; returns the facts afterwards.
 */
export function applySteps(steps: readonly Step[], facts: HostFacts): HostFacts {
  const f = structuredClone(facts);
  for (const step of steps) {
    const d = step.decide(f);
    if (d.status === 'change') for (const a of d.actions) simulate(f, a);
  }
  return f;
}
