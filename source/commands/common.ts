import type { Machine } from '../boundary.js';
import { formatIssues, parseLab } from '../config/load.js';
import { hostOf, type Lab } from '../config/resolve.js';
import { gatherFacts, withFiles } from '../facts/gather.js';
import { targetFacts } from '../facts/target.js';
import { DISTRO_KEYS, type DistroKey, type HostFacts } from '../facts/types.js';
import {
  buildSteps,
  makeContext,
  makePlan,
  planErrors,
  selectHost,
  stepReads,
  type Plan,
} from '../plan/plan.js';
import type { Step } from '../plan/step.js';
import type { PlanContext } from '../../recipes/index.js';

export { CliError, EXIT, processOutput, type Output } from './output.js';
import { CliError } from './output.js';

export async function loadLabFile(machine: Machine, path: string): Promise<Lab> {
  const text = await machine.readFile(path);
  if (text === null) throw new CliError(`--lab ${path}: no such file (or it cannot be read).`);
  const result = parseLab(text, path);
  if (!result.ok) throw new CliError(formatIssues(result.issues, path));
  return result.lab;
}

export function parseDistro(value: string): DistroKey {
  if ((DISTRO_KEYS as readonly string[]).includes(value)) return value as DistroKey;
  throw new CliError(`--target ${value}: expected one of ${DISTRO_KEYS.join(', ')}.`);
}

export async function loadFactsFile(machine: Machine, path: string): Promise<HostFacts> {
  const text = await machine.readFile(path);
  if (text === null) throw new CliError(`--facts ${path}: no such file.`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new CliError(
      `--facts ${path}: not JSON (${(e as Error).message}); make it with: lvs-setup detect --json > ${path}`,
    );
  }
  const f = data as Partial<HostFacts>;
  if (!f || typeof f !== 'object' || !f.os || !Array.isArray(f.nics) || !f.sysctl) {
    throw new CliError(
      `--facts ${path}: not the output of lvs-setup detect --json (no os, nics or sysctl).`,
    );
  }
  return { ...(f as HostFacts), source: 'recorded', files: f.files ?? {} };
}

export interface Prepared {
  ctx: PlanContext;
  facts: HostFacts;
  steps: Step[];
  plan: Plan;
  how: string;
}

export interface FactsChoice {
  factsFile?: string | undefined;
  target?: string | undefined;
}

/** Lab + facts + host → steps and plan. Shared by plan, apply and the wizard. */
export async function prepare(
  machine: Machine,
  lab: Lab,
  hostOption: string | undefined,
  choice: FactsChoice = {},
): Promise<Prepared> {
  let facts: HostFacts;
  if (choice.target !== undefined) {
    const distro = parseDistro(choice.target);
    if (hostOption === undefined) {
      throw new CliError(
        `--target needs --host: which of lab ${lab.file.name}'s hosts to plan for (${Object.keys(lab.file.hosts).join(', ')}).`,
      );
    }
    // An unknown --host falls through to selectHost, whose message lists the lab's hosts.
    facts = targetFacts(distro, hostOf(lab.file, hostOption) ?? null);
  } else if (choice.factsFile !== undefined) {
    facts = await loadFactsFile(machine, choice.factsFile);
  } else {
    facts = await gatherFacts(machine);
  }
  const chosen = selectHost(lab, facts, hostOption);
  if (!chosen.ok) throw new CliError(chosen.message);
  const ctx = makeContext(lab, chosen.host, facts);
  const errors = planErrors(ctx, facts);
  if (errors.length > 0) throw new CliError(errors.join('\n'));
  const steps = buildSteps(ctx, facts);
  if (facts.source === 'live') facts = await withFiles(machine, facts, stepReads(steps));
  return { ctx, facts, steps, plan: makePlan(ctx, facts, steps), how: chosen.how };
}
