import type { Machine } from '../boundary.js';
import type { Lab } from '../config/resolve.js';
import { execute, undo, type ExecEvent, type Recap } from '../executor.js';
import { gatherFacts, refreshAfterStep } from '../facts/gather.js';
import type { HostFacts } from '../facts/types.js';
import { countPlan } from '../plan/plan.js';
import { renderJson, renderSh, renderText } from '../plan/render.js';
import { stepReads } from '../plan/plan.js';
import { CliError, EXIT, loadLabFile, prepare, type Output } from './common.js';

export interface Confirm {
  (question: string): Promise<boolean>;
}

export function formatDetect(f: HostFacts): string {
  const lines: string[] = [];
  lines.push(`host:      ${f.hostname} — ${f.os.prettyName} (kernel ${f.kernel})`);
  lines.push(
    `distro:    ${f.os.distro ?? 'unknown to lvs-setup'}; packages: ${f.packageManager}; init: ${f.init}; network config: ${f.networkConfig}`,
  );
  lines.push(
    `firewall:  ${f.firewall.kind}${f.firewall.kind !== 'none' ? (f.firewall.running ? ' (running)' : ' (stopped)') : ''}`,
  );
  lines.push(
    `IPVS:      ${f.ipvs.loaded ? 'loaded' : f.ipvs.available ? 'available (module not loaded)' : 'NOT available in this kernel'}`,
  );
  if (f.system) {
    lines.push(
      `machine:   ${f.system.arch}, ${f.system.cores} cores, ${f.system.memoryMiB} MiB memory`,
    );
  }
  lines.push(
    `versions:  ipvsadm ${f.versions.ipvsadm ?? '-'}, keepalived ${f.versions.keepalived ?? '-'}, nginx ${f.versions.nginx ?? '-'}, node ${f.versions.node}`,
  );
  lines.push('', 'NICs:');
  const rows = f.nics.map((n) => [
    n.name + (f.routes.defaultDev === n.name ? ' *' : ''),
    n.state,
    n.addresses
      .filter((a) => a.family === 'inet')
      .map((a) => `${a.address}/${a.prefix}${a.label ? ` (${a.label})` : ''}`)
      .join(', ') || '-',
    n.mac ?? '-',
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length), 4));
  for (const r of rows) lines.push(`  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`);
  lines.push(
    `  (* = default route${f.routes.defaultGateway ? ` via ${f.routes.defaultGateway}` : ''})`,
  );
  const sys = Object.entries(f.sysctl).filter(([k]) => !/\.(default|tunl0)\./.test(k));
  lines.push('', 'sysctl:', ...sys.map(([k, v]) => `  ${k} = ${v}`));
  if (f.ipvs.services) {
    lines.push('', `IPVS table: ${f.ipvs.services.length} service(s)`);
    for (const s of f.ipvs.services) {
      lines.push(
        `  ${s.protocol} ${s.address} ${s.scheduler}${s.persistence ? ` persistent ${s.persistence}` : ''}`,
      );
      for (const d of s.destinations)
        lines.push(`    -> ${d.address}:${d.port} ${d.forward} weight ${d.weight}`);
    }
  }
  if (f.uid !== 0) lines.push('', 'Not root: plan and --dry-run work; apply and undo need root.');
  return lines.join('\n');
}

export async function detectCommand(
  machine: Machine,
  opts: { json?: boolean },
  io: Output,
): Promise<number> {
  const facts = await gatherFacts(machine, { system: true });
  io.out(opts.json ? JSON.stringify(facts, null, 2) : formatDetect(facts));
  return EXIT.ok;
}

export interface PlanOptions {
  lab: string;
  host?: string;
  facts?: string;
  target?: string;
  format?: string;
  output?: string;
}

export async function planCommand(
  machine: Machine,
  opts: PlanOptions,
  io: Output,
  version: string,
): Promise<number> {
  const format = opts.format ?? 'text';
  if (!['text', 'json', 'sh'].includes(format))
    throw new CliError(`--format ${format}: expected text, json or sh.`);
  if (opts.facts !== undefined && opts.target !== undefined)
    throw new CliError('--facts and --target are alternatives: give one.');
  const lab = await loadLabFile(machine, opts.lab);
  const p = await prepare(machine, lab, opts.host, { factsFile: opts.facts, target: opts.target });
  const text =
    format === 'json'
      ? renderJson(p.plan)
      : format === 'sh'
        ? renderSh(p.plan, version)
        : renderText(p.plan, p.facts);
  if (opts.output) {
    // The script holds the VRRP password in clear: only its owner may read it.
    const secret = format === 'sh' && p.plan.secrets.length > 0;
    await machine.writeFileAtomic(
      opts.output,
      text.endsWith('\n') ? text : `${text}\n`,
      format === 'sh' ? (secret ? 0o600 : 0o700) : 0o644,
    );
    io.err(`wrote ${opts.output}${secret ? ' (mode 0600: it contains the VRRP password)' : ''}`);
  } else {
    io.out(text);
  }
  return EXIT.ok;
}

export function formatRecap(r: Recap): string {
  return `ok=${r.ok} changed=${r.changed} failed=${r.failed}${r.skipped ? ` skipped=${r.skipped}` : ''}  (${(r.durationMs / 1000).toFixed(1)} s, log: ${r.logPath})`;
}

/** Plain-text progress for apply (the wizard has its own screen). */
export function textProgress(io: Output, total: () => number): (e: ExecEvent) => void {
  let current = '';
  return (e) => {
    switch (e.type) {
      case 'step-start':
        current = `[${e.index + 1}/${total()}] ${e.step.title}`;
        break;
      case 'step-ok':
        io.out(`${current}: ok (${e.reason})`);
        break;
      case 'action':
        io.out(`${current}\n    ${e.text}`);
        current = '    ->';
        break;
      case 'step-changed':
        io.out(`    changed (${(e.durationMs / 1000).toFixed(1)} s)`);
        break;
      case 'step-failed':
        io.err(
          `    FAILED: ${e.command}\n    exit ${e.exitCode}${e.timedOut ? ' (timed out)' : ''}\n${e.stderr
            .split('\n')
            .slice(-15)
            .map((l) => `    | ${l}`)
            .join('\n')}\n    ${e.hint}`,
        );
        break;
      default:
        break;
    }
  };
}

export interface ApplyOptions {
  lab: string;
  host?: string;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
  /** Run the doctor's checks after a successful apply (default true; --no-checks). */
  checks?: boolean;
}

export async function applyCommand(
  machine: Machine,
  opts: ApplyOptions,
  io: Output,
  confirm: Confirm,
): Promise<number> {
  const lab = await loadLabFile(machine, opts.lab);
  if (!opts.dryRun && machine.uid() !== 0) {
    throw new CliError(
      'apply changes the network, kernel settings and services, so it needs root: run it with sudo.\nWithout root you can still see exactly what it would do: lvs-setup apply --dry-run, or lvs-setup plan.',
      EXIT.notRoot,
    );
  }
  const p = await prepare(machine, lab, opts.host);
  const counts = countPlan(p.plan);
  if (opts.json) {
    if (opts.dryRun || counts.change === 0) {
      io.out(renderJson(p.plan));
      return EXIT.ok;
    }
  } else {
    io.out(`This machine is host ${p.ctx.hostName} (${p.how}).`);
    io.out(renderText(p.plan, p.facts));
  }
  if (opts.dryRun || counts.change === 0) return EXIT.ok;
  if (!opts.yes) {
    if (!(await confirm(`Apply ${counts.change} change(s) to this host?`))) {
      io.err('Nothing changed.');
      return EXIT.ok;
    }
  }
  const reads = stepReads(p.steps);
  // Load the checks' code before anything changes: a rebuild or upgrade of lvs-setup during a
  // long apply must not make it fail at the end on a chunk that is gone.
  const doctor = opts.checks !== false && !opts.json ? import('../doctor/doctor.js') : null;
  const recap = await execute({
    machine,
    steps: p.steps,
    facts: p.facts,
    refresh: refreshAfterStep(machine, reads),
    lab: lab.file.name,
    host: p.ctx.hostName,
    secrets: p.plan.secrets,
    onEvent: opts.json ? (e) => io.out(JSON.stringify(e)) : textProgress(io, () => p.steps.length),
  });
  if (!opts.json) {
    io.out('');
    io.out(formatRecap(recap));
    if (recap.failed > 0)
      io.err(
        'A step failed: fix it and run the same command again; it resumes where it stopped. `lvs-setup undo` reverses what was done.',
      );
    else if (doctor)
      await afterApplyChecks(await doctor, machine, lab, p.ctx.hostName, opts.lab, io);
  }
  return recap.failed > 0 ? EXIT.failed : EXIT.ok;
}

/**
 * The doctor's checks for this host's role, right after an apply: what the steps cannot see
 * (nothing listening, a real server not reachable yet, a rival VRRP router). Only warnings and
 * failures are printed; they do not change the exit code (the apply itself succeeded).
 */
async function afterApplyChecks(
  doctor: typeof import('../doctor/doctor.js'),
  machine: Machine,
  lab: Lab,
  host: string,
  path: string,
  io: Output,
): Promise<void> {
  const { runDoctor, formatResults, summarize, AFTER_APPLY_REACH_LIMIT } = doctor;
  const run = await runDoctor(machine, {
    lab: { lab, host, path },
    vrrpSeconds: 0,
    reachLimit: AFTER_APPLY_REACH_LIMIT,
  });
  const flagged = run.results.filter((r) => r.status === 'warn' || r.status === 'fail');
  const s = summarize(run.results);
  io.out('');
  if (flagged.length === 0) {
    io.out(
      `Checks: all ${s.pass} relevant checks passed (lvs-setup doctor --lab ${path} for the full list).`,
    );
    return;
  }
  io.out(
    'Checks after apply (hosts not applied yet make some fail; run `lvs-setup doctor` again then):',
  );
  io.out(formatResults(run.results, { showSkipped: false }));
}

export async function undoCommand(
  machine: Machine,
  opts: { yes?: boolean },
  io: Output,
  confirm: Confirm,
): Promise<number> {
  if (machine.uid() !== 0) {
    throw new CliError(
      'undo restores system files and removes addresses, rules and settings, so it needs root: run it with sudo.\nWithout root you can see what the last apply did in /var/lib/lvs-setup/lvs-setup.log (if readable) or check the host with lvs-setup doctor.',
      EXIT.notRoot,
    );
  }
  if (
    !opts.yes &&
    !(await confirm('Reverse every lvs-setup apply on this host since the last undo?'))
  ) {
    io.err('Nothing changed.');
    return EXIT.ok;
  }
  const report = await undo(machine, (l) => io.out(l));
  if (report.runs === 0) {
    io.out('Nothing to undo: no apply since the last undo.');
    return EXIT.ok;
  }
  io.out(
    `Undid ${report.runs} apply run(s): ${report.restored.length} file(s) restored, ${report.removed.length} removed, ${report.commands.length} command(s) reversed.`,
  );
  for (const p of report.problems) io.err(`! ${p}`);
  return report.problems.length > 0 ? EXIT.failed : EXIT.ok;
}
