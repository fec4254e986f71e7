import type { Machine } from '../boundary.js';
import type { Lab } from '../config/resolve.js';
import { gatherFacts } from '../facts/gather.js';
import type { HostFacts } from '../facts/types.js';
import { makeContext } from '../plan/plan.js';
import { buildModel, runChecks } from './checks.js';
import { probeActive, probeBasics } from './probe.js';
import type { CheckResult, DoctorModel, ProbeResults } from './types.js';

export type { CheckResult, CheckStatus, DoctorModel } from './types.js';

export interface DoctorRun {
  facts: HostFacts;
  model: DoctorModel;
  probes: ProbeResults;
  results: CheckResult[];
}

export interface DoctorInput {
  /** The lab and this host's name in it; null: infer the role from what is configured. */
  lab?: { lab: Lab; host: string; path: string | null } | null;
  /** Facts already gathered (apply and the wizard have them); gathered when absent. */
  facts?: HostFacts;
  /** Seconds to listen for other VRRP routers (default 3; 0 = do not listen). */
  vrrpSeconds?: number;
  /** Try at most this many real servers (default: all). */
  reachLimit?: number;
}

/** How many real servers apply and the wizard try after a change (doctor tries all). */
export const AFTER_APPLY_REACH_LIMIT = 32;

/** Gather, probe and check this host. Reads only; never changes anything. */
export async function runDoctor(machine: Machine, input: DoctorInput = {}): Promise<DoctorRun> {
  const facts = input.facts ?? (await gatherFacts(machine));
  const ctx = input.lab ? makeContext(input.lab.lab, input.lab.host, facts) : null;
  const basics = await probeBasics(machine, facts);
  const model = buildModel(
    facts,
    ctx,
    { ...basics, reach: null, vrrp: null },
    input.lab?.path ?? null,
  );
  const active = await probeActive(machine, facts, model, {
    ...(input.vrrpSeconds !== undefined ? { vrrpSeconds: input.vrrpSeconds } : {}),
    ...(input.reachLimit !== undefined ? { reachLimit: input.reachLimit } : {}),
  });
  const probes: ProbeResults = { ...basics, ...active };
  return { facts, model, probes, results: runChecks(facts, model, probes) };
}

export interface Summary {
  pass: number;
  warn: number;
  fail: number;
  skip: number;
}

export function summarize(results: readonly CheckResult[]): Summary {
  const s: Summary = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) s[r.status]++;
  return s;
}

export function summaryLine(results: readonly CheckResult[]): string {
  const s = summarize(results);
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return `${plural(s.pass, 'check passed', 'checks passed')}, ${plural(s.warn, 'warning', 'warnings')}, ${s.fail} failed, ${s.skip} skipped`;
}

const LABEL = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'skip' } as const;

/** The text report: one line per check, the fix under each warning and failure, a summary. */
export function formatResults(
  results: readonly CheckResult[],
  options: { header?: string[]; showSkipped?: boolean } = {},
): string {
  const lines: string[] = [...(options.header ?? [])];
  if (lines.length > 0) lines.push('');
  for (const r of results) {
    if (r.status === 'skip' && options.showSkipped === false) continue;
    lines.push(`${LABEL[r.status]}  ${r.title} [${r.id}]`);
    if (r.detail) lines.push(...r.detail.split('\n').map((l) => `      ${l}`));
    if (r.fix && (r.status === 'fail' || r.status === 'warn')) {
      const [first = '', ...rest] = r.fix.split('\n');
      lines.push(`      fix: ${first}`, ...rest.map((l) => `           ${l}`));
    }
  }
  lines.push('', summaryLine(results));
  return lines.join('\n');
}

/** Header lines: which host, which role and why. */
export function describeModel(model: DoctorModel, how: string | null, facts: HostFacts): string[] {
  const out: string[] = [];
  if (model.source === 'lab') {
    out.push(
      `lvs-setup doctor: host ${model.hostName ?? '?'} (${model.roles.join(', ')}${model.ha ? `, HA ${model.ha.state ?? ''}` : ''}) of lab ${model.labName ?? '?'}${how ? ` (${how})` : ''}`,
    );
  } else {
    out.push(
      `lvs-setup doctor: ${facts.hostname || 'this host'}, role inferred: ${model.roles.length ? model.roles.join(', ') : 'none found'}`,
    );
    for (const r of model.reasons) out.push(`  - ${r}`);
  }
  if (facts.uid !== 0)
    out.push(
      'Not root: the IPVS table, keepalived.conf and VRRP traffic may be unreadable, so some checks are skipped; run with sudo for all of them.',
    );
  return out;
}
