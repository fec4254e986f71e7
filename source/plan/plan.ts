import { RECIPES, type PlanContext } from '../../recipes/index.js';
import { vrrpAuthPass } from '../../recipes/keepalived.js';
import { hostOf, type Lab } from '../config/resolve.js';
import { distroKeepalivedVersion } from '../facts/target.js';
import type { HostFacts } from '../facts/types.js';
import type { Decision, Step } from './step.js';

export interface PlannedStep {
  step: Step;
  decision: Decision;
}

export interface Plan {
  lab: string;
  host: string;
  role: string;
  factsSource: HostFacts['source'];
  distro: string;
  steps: PlannedStep[];
  /** Values that must never be shown (VRRP auth_pass): renderers mask them. */
  secrets: string[];
  warnings: string[];
}

export type HostChoice = { ok: true; host: string; how: string } | { ok: false; message: string };

function localAddresses(facts: HostFacts): string[] {
  return facts.nics.flatMap((n) =>
    n.addresses
      .filter((a) => a.family === 'inet' && n.name !== 'lo')
      .map((a) => `${a.address} (${n.name})`),
  );
}

function describeHosts(lab: Lab): string {
  return Object.entries(lab.file.hosts)
    .map(([name, h]) => {
      const addrs = Object.entries(h.interfaces).map(
        ([nic, c]) => `${nic} ${c.address ?? 'no address'}${c.mac ? ` ${c.mac}` : ''}`,
      );
      return `    ${name} (${h.role}): ${addrs.join(', ')}`;
    })
    .join('\n');
}

/** Which lab host this machine is: --host, else matching NIC addresses, else MACs. */
export function selectHost(lab: Lab, facts: HostFacts, requested?: string): HostChoice {
  const names = Object.keys(lab.file.hosts);
  if (requested !== undefined) {
    if (hostOf(lab.file, requested)) return { ok: true, host: requested, how: '--host' };
    return {
      ok: false,
      message: `--host ${requested}: no such host in lab ${lab.file.name}. Its hosts:\n${describeHosts(lab)}`,
    };
  }
  const mine = new Set(facts.nics.flatMap((n) => n.addresses.map((a) => a.address)));
  const macs = new Set(facts.nics.map((n) => n.mac).filter((m): m is string => m !== null));
  const byAddress = names.filter((name) =>
    Object.values(hostOf(lab.file, name)?.interfaces ?? {}).some(
      (c) => c.address && mine.has(c.address.split('/')[0] ?? ''),
    ),
  );
  const byMac = names.filter((name) =>
    Object.values(hostOf(lab.file, name)?.interfaces ?? {}).some(
      (c) => c.mac && macs.has(c.mac.toLowerCase()),
    ),
  );
  const found = byAddress.length > 0 ? byAddress : byMac;
  const how = byAddress.length > 0 ? 'matched by address' : 'matched by MAC';
  if (found.length === 1 && found[0]) return { ok: true, host: found[0], how };
  const local = localAddresses(facts);
  const here = `This machine's addresses: ${local.length ? local.join(', ') : '(none: its NICs are unconfigured)'}; MACs: ${[...macs].join(', ') || '(none)'}.`;
  if (found.length > 1) {
    return {
      ok: false,
      message: `Several hosts of lab ${lab.file.name} match this machine (${found.join(', ')}); pick one with --host NAME.\n${here}`,
    };
  }
  return {
    ok: false,
    message: `No host of lab ${lab.file.name} matches this machine; pick one with --host NAME (or add mac: to its interfaces). Its hosts:\n${describeHosts(lab)}\n${here}`,
  };
}

export function makeContext(lab: Lab, hostName: string, facts: HostFacts): PlanContext {
  const host = hostOf(lab.file, hostName);
  if (!host) throw new Error(`no host ${hostName} in lab`);
  const keepalivedVersion =
    facts.versions.keepalived ??
    (facts.os.distro ? distroKeepalivedVersion(facts.os.distro) : null);
  return { lab, hostName, host, keepalivedVersion };
}

/** Run every recipe: the steps for this host, in order. Ids are unique. */
export function buildSteps(ctx: PlanContext, facts: HostFacts): Step[] {
  const steps = RECIPES.flatMap(({ recipe }) => recipe(ctx, facts));
  const seen = new Set<string>();
  for (const s of steps) {
    if (seen.has(s.id)) throw new Error(`internal: duplicate step id ${s.id}`);
    seen.add(s.id);
  }
  return steps;
}

export function stepReads(steps: Step[]): string[] {
  return [...new Set(steps.flatMap((s) => s.reads ?? []))];
}

/** Problems that make a plan meaningless on this machine (missing NICs). */
export function planErrors(ctx: PlanContext, facts: HostFacts): string[] {
  const names = new Set(facts.nics.map((n) => n.name));
  const missing = Object.keys(ctx.host.interfaces).filter((n) => !names.has(n));
  if (missing.length === 0) return [];
  return [
    `host ${ctx.hostName} needs interface${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which this machine does not have (it has: ${[...names].filter((n) => n !== 'lo').join(', ')}). Rename them in the lab file (hosts.${ctx.hostName}.interfaces) or pick another --host.`,
  ];
}

export function planWarnings(ctx: PlanContext, facts: HostFacts): string[] {
  const out: string[] = [];
  if (facts.sshLocalAddress) {
    const nic = facts.nics.find((n) =>
      n.addresses.some((a) => a.address === facts.sshLocalAddress),
    );
    const want = nic ? ctx.host.interfaces[nic.name]?.address?.split('/')[0] : undefined;
    if (nic && want && want !== facts.sshLocalAddress) {
      out.push(
        `You are connected over SSH to ${facts.sshLocalAddress} on ${nic.name}, and this plan changes ${nic.name}'s address to ${want}: the session will drop. Reconnect to ${want}, or run from the VM's console.`,
      );
    }
  }
  if (facts.os.distro === null && facts.source === 'live') {
    out.push(
      `${facts.os.prettyName} is not a distro lvs-setup knows (CentOS 7, Rocky/Alma 8-9, Debian 12, Ubuntu 22.04/24.04); the plan may not fit it.`,
    );
  }
  return out;
}

export function decideSteps(steps: Step[], facts: HostFacts): PlannedStep[] {
  return steps.map((step) => ({ step, decision: step.decide(facts) }));
}

export function makePlan(
  ctx: PlanContext,
  facts: HostFacts,
  steps: Step[] = buildSteps(ctx, facts),
): Plan {
  return {
    lab: ctx.lab.file.name,
    host: ctx.hostName,
    role: ctx.host.role,
    factsSource: facts.source,
    distro: facts.os.prettyName,
    steps: decideSteps(steps, facts),
    // The VRRP password, from the lab file or derived by the keepalived recipe.
    secrets: [vrrpAuthPass(ctx.lab)?.value].filter((v): v is string => Boolean(v)),
    warnings: planWarnings(ctx, facts),
  };
}

export function countPlan(plan: Plan): { change: number; ok: number } {
  const change = plan.steps.filter((s) => s.decision.status === 'change').length;
  return { change, ok: plan.steps.length - change };
}
