import { createTwoFilesPatch } from 'diff';
import { shellQuote, shortCommand } from '../boundary.js';
import type { HostFacts } from '../facts/types.js';
import { countPlan, type Plan } from './plan.js';
import type { Action, CommandSpec } from './step.js';

export const MASK = '***';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replace every secret standing as a whole word with ***. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s) continue;
    out = out.replace(new RegExp(`(?<![\\w])${escapeRegExp(s)}(?![\\w])`, 'g'), MASK);
  }
  return out;
}

export function commandLine(spec: CommandSpec, secrets: readonly string[]): string {
  return maskSecrets(shortCommand(spec.argv), secrets);
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : by + l))
    .join('\n');
}

/** A unified diff of a file action against what the facts say the file holds. */
export function fileDiff(
  path: string,
  before: string | null,
  after: string,
  secrets: readonly string[],
): string {
  const patch = createTwoFilesPatch(
    before === null ? '/dev/null' : path,
    path,
    maskSecrets(before ?? '', secrets),
    maskSecrets(after, secrets),
    undefined,
    undefined,
    { context: 3 },
  );
  // Drop the "====" header line createTwoFilesPatch starts with.
  return patch
    .split('\n')
    .filter((l) => !/^={10,}$/.test(l))
    .join('\n')
    .trimEnd();
}

function actionText(a: Action, facts: HostFacts, secrets: readonly string[]): string {
  switch (a.kind) {
    case 'command':
      return `$ ${commandLine(a, secrets)}${a.input !== undefined ? `  <<input\n${indent(maskSecrets(a.input, secrets).trimEnd(), '    ')}` : ''}`;
    case 'file':
      return `write ${a.path} (mode ${a.mode.toString(8).padStart(4, '0')})\n${indent(fileDiff(a.path, facts.files[a.path]?.content ?? null, a.content, secrets), '  ')}`;
    case 'remove-file':
      return `remove ${a.path}`;
  }
}

export function summaryLine(plan: Plan): string {
  const { change, ok } = countPlan(plan);
  if (change === 0) return 'No changes. This host already matches the lab file.';
  return `Plan: ${change} to change, ${ok} already ok.`;
}

/** Terraform-like text: each step with its explanation, commands and diffs, then the summary. */
export function renderText(
  plan: Plan,
  facts: HostFacts,
  options: { verbose?: boolean } = {},
): string {
  const lines: string[] = [];
  lines.push(`lvs-setup plan for host ${plan.host} (${plan.role}) of lab ${plan.lab}`);
  lines.push(`facts: ${plan.factsSource} — ${plan.distro}`);
  lines.push('');
  for (const w of plan.warnings) lines.push(`! ${w}`, '');
  for (const { step, decision } of plan.steps) {
    if (decision.status === 'ok') {
      lines.push(`  ok  ${step.title}: ${decision.reason}`);
      if (options.verbose) lines.push(indent(step.explain, '        '));
      continue;
    }
    lines.push(`  ~   ${step.title}  [${step.recipe}]`);
    lines.push(indent(`why: ${step.explain}`, '        '));
    lines.push(indent(`now: ${decision.reason}`, '        '));
    for (const a of decision.actions)
      lines.push(indent(actionText(a, facts, plan.secrets), '        '));
    lines.push('');
  }
  lines.push('');
  lines.push(summaryLine(plan));
  return lines.join('\n');
}

function actionJson(a: Action, secrets: readonly string[]): unknown {
  switch (a.kind) {
    case 'command':
      return {
        kind: 'command',
        argv: a.argv.map((w) => maskSecrets(w, secrets)),
        ...(a.input !== undefined ? { input: maskSecrets(a.input, secrets) } : {}),
        ...(a.inverse
          ? { inverse: a.inverse.map((i) => i.argv.map((w) => maskSecrets(w, secrets))) }
          : {}),
      };
    case 'file':
      return {
        kind: 'file',
        path: a.path,
        mode: a.mode.toString(8).padStart(4, '0'),
        content: maskSecrets(a.content, secrets),
      };
    case 'remove-file':
      return { kind: 'remove-file', path: a.path };
  }
}

export function planJson(plan: Plan): unknown {
  const { change, ok } = countPlan(plan);
  return {
    lab: plan.lab,
    host: plan.host,
    role: plan.role,
    facts: plan.factsSource,
    distro: plan.distro,
    summary: { change, ok },
    warnings: plan.warnings,
    steps: plan.steps.map(({ step, decision }) => ({
      id: step.id,
      recipe: step.recipe,
      title: step.title,
      explain: step.explain,
      status: decision.status,
      reason: decision.reason,
      actions:
        decision.status === 'change'
          ? decision.actions.map((a) => actionJson(a, plan.secrets))
          : [],
    })),
  };
}

export function renderJson(plan: Plan): string {
  return JSON.stringify(planJson(plan), null, 2);
}

function heredocDelimiter(content: string): string {
  let tag = 'LVS_SETUP_EOF';
  const lines = new Set(content.split('\n'));
  for (let i = 1; lines.has(tag); i++) tag = `LVS_SETUP_EOF_${i}`;
  return tag;
}

/** Content fed to a command or file: a quoted heredoc when it ends with a newline, else printf. */
function feed(content: string): { prefix: string; suffix: string } {
  if (content.endsWith('\n')) {
    const tag = heredocDelimiter(content);
    return { prefix: '', suffix: ` <<'${tag}'\n${content}${tag}` };
  }
  return { prefix: `printf '%s' ${shellQuote(content)} | `, suffix: '' };
}

function shCommand(spec: CommandSpec): string {
  const line = spec.argv.map(shellQuote).join(' ');
  const { prefix, suffix } =
    spec.input !== undefined ? feed(spec.input) : { prefix: '', suffix: '' };
  const full = `${prefix}${line}${suffix}`;
  const okCodes = (spec.okExitCodes ?? [0]).filter((c) => c !== 0);
  if (okCodes.length === 0) return full;
  // Exit codes other than 0 that mean success (e.g. "already there").
  const test = okCodes.map((c) => `[ "$rc" -eq ${c} ]`).join(' || ');
  return `rc=0; ${full.includes('\n') ? `{ ${full}\n} || rc=$?` : `${full} || rc=$?`}\nif [ "$rc" -ne 0 ] && ! { ${test}; }; then exit "$rc"; fi`;
}

function shAction(a: Action): string {
  switch (a.kind) {
    case 'command':
      return shCommand(a);
    case 'file': {
      const p = shellQuote(a.path);
      const tmp = shellQuote(`${a.path}.lvs-setup-tmp`);
      const dir = shellQuote(a.path.replace(/\/[^/]*$/, '') || '/');
      const { prefix, suffix } = feed(a.content);
      const write = prefix ? `${prefix}cat > ${tmp}` : `cat > ${tmp}${suffix}`;
      return [
        `mkdir -p ${dir}`,
        `if [ -e ${p} ] && [ ! -e ${shellQuote(`${a.path}.lvs-setup.orig`)} ]; then cp -p ${p} ${shellQuote(`${a.path}.lvs-setup.orig`)}; fi`,
        write,
        `chmod ${a.mode.toString(8).padStart(4, '0')} ${tmp}`,
        `mv -f ${tmp} ${p}`,
      ].join('\n');
    }
    case 'remove-file':
      return `rm -f ${shellQuote(a.path)}`;
  }
}

/**
 * The plan as a POSIX shell script, for hosts without Node (CentOS 7) and for auditing. It holds
 * secrets in clear text (it must, to configure keepalived), and says so at the top.
 */
export function renderSh(plan: Plan, version: string): string {
  const out: string[] = ['#!/bin/sh'];
  out.push(
    `# Generated by lvs-setup ${version}: host ${plan.host} (${plan.role}) of lab ${plan.lab}`,
  );
  out.push(`# for ${plan.distro} (facts: ${plan.factsSource}). Run as root on that host.`);
  if (plan.secrets.length > 0) {
    out.push('# WARNING: this script contains the VRRP auth_pass in clear text. Keep it private');
    out.push('# (chmod 600) and delete it after use.');
  }
  for (const w of plan.warnings) out.push(`# NOTE: ${w.replace(/\n/g, ' ')}`);
  out.push(`# ${summaryLine(plan)}`);
  out.push('set -eu', '');
  for (const { step, decision } of plan.steps) {
    out.push(`# --- ${step.title} [${step.id}]`);
    for (const line of step.explain.match(/.{1,96}(\s|$)/g) ?? [step.explain])
      out.push(`# ${line.trim()}`);
    if (decision.status === 'ok') {
      out.push(`# already ok: ${decision.reason}`, '');
      continue;
    }
    out.push(`echo ${shellQuote(`lvs-setup: ${step.title}`)}`);
    for (const a of decision.actions) out.push(shAction(a));
    out.push('');
  }
  out.push(`echo ${shellQuote(`lvs-setup: host ${plan.host} done`)}`);
  return `${out.join('\n')}\n`;
}
