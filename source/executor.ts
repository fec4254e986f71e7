import type { Machine, RunResult } from './boundary.js';
import type { HostFacts } from './facts/types.js';
import { commandLine, maskSecrets } from './plan/render.js';
import type { Action, CommandSpec, Step } from './plan/step.js';

/**
 * The executor: the only code that changes the machine. Before each step it decides again against
 * fresh facts (a step done by an earlier, interrupted run reports "already ok", so a re-run
 * resumes); it backs up every file before writing it, journals every change with its inverse before
 * making it, and logs every command with its output and exit status.
 */

export const DEFAULT_STATE_DIR = '/var/lib/lvs-setup';
export const STATE_DIR_ENV = 'LVS_SETUP_STATE_DIR';

export function stateDirFor(machine: Machine): string {
  return machine.env(STATE_DIR_ENV) ?? DEFAULT_STATE_DIR;
}

export interface StepInfo {
  id: string;
  title: string;
  explain: string;
  recipe: string;
}

export type ExecEvent =
  | { type: 'start'; total: number; host: string; lab: string; runId: string; logPath: string }
  | { type: 'step-start'; index: number; step: StepInfo }
  | { type: 'step-ok'; index: number; reason: string }
  | { type: 'action'; index: number; text: string }
  | { type: 'output'; index: number; chunk: string }
  | { type: 'step-changed'; index: number; reason: string; durationMs: number }
  | {
      type: 'step-failed';
      index: number;
      command: string;
      exitCode: number;
      stderr: string;
      timedOut: boolean;
      hint: string;
    }
  | { type: 'end'; recap: Recap };

export interface Recap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  logPath: string;
  runId: string;
}

interface FileEntry {
  kind: 'file';
  step: string;
  path: string;
  /** Backup of the previous content, relative to the state dir; null = the file did not exist. */
  backup: string | null;
  mode: number | null;
  state: 'started' | 'done';
}
interface CommandEntry {
  kind: 'command';
  step: string;
  argv: string[];
  inverse: CommandSpec[];
  state: 'started' | 'done';
}
type JournalEntry = FileEntry | CommandEntry;

export interface JournalRun {
  id: string;
  lab: string;
  host: string;
  started: string;
  finished: string | null;
  undone: boolean;
  entries: JournalEntry[];
}

export interface Journal {
  version: 1;
  runs: JournalRun[];
}

export class StepFailure extends Error {}

export async function readJournal(machine: Machine, stateDir: string): Promise<Journal> {
  const text = await machine.readFile(`${stateDir}/journal.json`);
  if (!text) return { version: 1, runs: [] };
  return JSON.parse(text) as Journal;
}

async function saveJournal(machine: Machine, stateDir: string, journal: Journal): Promise<void> {
  await machine.writeFileAtomic(
    `${stateDir}/journal.json`,
    `${JSON.stringify(journal, null, 1)}\n`,
    0o600,
  );
}

function newRunId(now: Date): string {
  return `${now.toISOString().replace(/[:.]/g, '-')}-${Math.random().toString(36).slice(2, 8)}`;
}

function hintFor(r: RunResult, argv: string[], timeoutMs: number): string {
  const resume =
    'Then run the same command again: finished steps report "already ok", so it resumes here.';
  if (r.timedOut) {
    const pm = ['yum', 'dnf', 'apt-get', 'env'].includes(argv[0] ?? '');
    return `It ran longer than ${Math.round(timeoutMs / 1000)} s and was stopped (with its child processes).${pm ? ' A package manager usually hangs waiting for a lock another one holds (an automatic update): wait for it to finish.' : ''} ${resume}`;
  }
  if (r.notFound)
    return `${argv[0]} is not installed on this host. Install it (or let the packages step do it). ${resume}`;
  return `Read the error above and fix its cause. ${resume}`;
}

export interface ExecuteOptions {
  machine: Machine;
  steps: Step[];
  facts: HostFacts;
  /** Fresh facts (with the files the steps read) after `changed` changed something. */
  refresh: (previous: HostFacts, changed: Step, actions: readonly Action[]) => Promise<HostFacts>;
  lab: string;
  host: string;
  secrets: string[];
  onEvent?: (e: ExecEvent) => void;
  now?: () => Date;
}

export async function execute(options: ExecuteOptions): Promise<Recap> {
  const { machine, steps, secrets } = options;
  const emit = options.onEvent ?? (() => {});
  const now = options.now ?? (() => new Date());
  const stateDir = stateDirFor(machine);
  await machine.mkdirp(stateDir, 0o700);
  const logPath = `${stateDir}/lvs-setup.log`;
  const log = (text: string) => machine.appendFile(logPath, maskSecrets(text, secrets), 0o600);
  const started = Date.now();
  const runId = newRunId(now());
  const journal = await readJournal(machine, stateDir);
  const run: JournalRun = {
    id: runId,
    lab: options.lab,
    host: options.host,
    started: now().toISOString(),
    finished: null,
    undone: false,
    entries: [],
  };
  journal.runs.push(run);
  await saveJournal(machine, stateDir, journal);
  await log(`\n=== ${run.started} apply lab ${options.lab} host ${options.host} run ${runId}\n`);
  emit({
    type: 'start',
    total: steps.length,
    host: options.host,
    lab: options.lab,
    runId,
    logPath,
  });

  let facts = options.facts;
  const recap: Recap = { ok: 0, changed: 0, failed: 0, skipped: 0, durationMs: 0, logPath, runId };
  let backupCount = 0;

  const runCommand = async (
    index: number,
    stepId: string,
    spec: CommandSpec,
    inverse: CommandSpec[],
  ) => {
    const text = commandLine(spec, secrets);
    emit({ type: 'action', index, text: `$ ${text}` });
    const entry: CommandEntry = {
      kind: 'command',
      step: stepId,
      argv: spec.argv,
      inverse,
      state: 'started',
    };
    if (inverse.length > 0) {
      run.entries.push(entry);
      await saveJournal(machine, stateDir, journal);
    }
    const timeoutMs = spec.timeoutMs ?? 120_000;
    const r = await machine.run(spec.argv, {
      timeoutMs,
      ...(spec.input !== undefined ? { input: spec.input } : {}),
      onOutput: (chunk) => emit({ type: 'output', index, chunk: maskSecrets(chunk, secrets) }),
    });
    await log(
      `$ ${text}\n${maskSecrets(r.stdout, secrets)}${maskSecrets(r.stderr, secrets)}[exit ${r.exitCode}${r.timedOut ? ', timed out' : ''}, ${r.durationMs} ms]\n`,
    );
    const okCodes = spec.okExitCodes ?? [0];
    if (r.timedOut || !okCodes.includes(r.exitCode)) {
      emit({
        type: 'step-failed',
        index,
        command: text,
        exitCode: r.exitCode,
        stderr: maskSecrets((r.stderr || r.stdout).trim(), secrets),
        timedOut: r.timedOut,
        hint: hintFor(r, spec.argv, timeoutMs),
      });
      throw new StepFailure(text);
    }
    if (inverse.length > 0) {
      entry.state = 'done';
      await saveJournal(machine, stateDir, journal);
    }
  };

  const writeFile = async (
    index: number,
    stepId: string,
    action: Extract<Action, { kind: 'file' | 'remove-file' }>,
  ) => {
    const before = await machine.readFileBytes(action.path);
    const st = before === null ? null : await machine.stat(action.path);
    let backup: string | null = null;
    if (before !== null) {
      backupCount += 1;
      backup = `backups/${runId}/${backupCount}-${action.path.replace(/[^A-Za-z0-9._-]/g, '_')}`;
      await machine.mkdirp(`${stateDir}/backups/${runId}`, 0o700);
      await machine.writeFileAtomic(`${stateDir}/${backup}`, before, 0o600);
    }
    const entry: FileEntry = {
      kind: 'file',
      step: stepId,
      path: action.path,
      backup,
      mode: st?.mode ?? null,
      state: 'started',
    };
    run.entries.push(entry);
    await saveJournal(machine, stateDir, journal);
    if (action.kind === 'file') {
      emit({ type: 'action', index, text: `write ${action.path}` });
      await machine.writeFileAtomic(action.path, action.content, action.mode);
      await log(
        `write ${action.path} (mode ${action.mode.toString(8)}${backup ? `, backup ${backup}` : ', new file'})\n`,
      );
    } else {
      emit({ type: 'action', index, text: `remove ${action.path}` });
      await machine.removeFile(action.path);
      await log(`remove ${action.path}${backup ? ` (backup ${backup})` : ''}\n`);
    }
    entry.state = 'done';
    await saveJournal(machine, stateDir, journal);
  };

  try {
    for (const [index, step] of steps.entries()) {
      emit({
        type: 'step-start',
        index,
        step: { id: step.id, title: step.title, explain: step.explain, recipe: step.recipe },
      });
      const decision = step.decide(facts);
      if (decision.status === 'ok') {
        recap.ok += 1;
        emit({ type: 'step-ok', index, reason: decision.reason });
        continue;
      }
      const t0 = Date.now();
      await log(`--- ${step.title} [${step.id}]: ${decision.reason}\n`);
      try {
        for (const action of decision.actions) {
          if (action.kind === 'command')
            await runCommand(index, step.id, action, action.inverse ?? []);
          else await writeFile(index, step.id, action);
        }
      } catch (e) {
        if (e instanceof StepFailure) {
          recap.failed += 1;
          recap.skipped = steps.length - index - 1;
          break;
        }
        throw e;
      }
      recap.changed += 1;
      emit({ type: 'step-changed', index, reason: decision.reason, durationMs: Date.now() - t0 });
      facts = await options.refresh(facts, step, decision.actions);
    }
  } finally {
    run.finished = now().toISOString();
    await saveJournal(machine, stateDir, journal);
    recap.durationMs = Date.now() - started;
    await log(`=== ok=${recap.ok} changed=${recap.changed} failed=${recap.failed}\n`);
  }
  emit({ type: 'end', recap });
  return recap;
}

export interface UndoReport {
  runs: number;
  restored: string[];
  removed: string[];
  commands: string[];
  problems: string[];
}

/** Reverse every apply since the last undo, newest change first. */
export async function undo(
  machine: Machine,
  onLine: (line: string) => void = () => {},
): Promise<UndoReport> {
  const stateDir = stateDirFor(machine);
  const journal = await readJournal(machine, stateDir);
  const report: UndoReport = { runs: 0, restored: [], removed: [], commands: [], problems: [] };
  const logPath = `${stateDir}/lvs-setup.log`;
  const pending = journal.runs.filter((r) => !r.undone).reverse();
  if (pending.length > 0)
    await machine.appendFile(
      logPath,
      `\n=== ${new Date().toISOString()} undo ${pending.length} run(s)\n`,
      0o600,
    );
  for (const run of pending) {
    report.runs += 1;
    for (const entry of [...run.entries].reverse()) {
      if (entry.kind === 'file') {
        if (entry.backup === null) {
          await machine.removeFile(entry.path);
          report.removed.push(entry.path);
          onLine(`removed ${entry.path} (lvs-setup created it)`);
        } else {
          const bytes = await machine.readFileBytes(`${stateDir}/${entry.backup}`);
          if (bytes === null) {
            report.problems.push(
              `backup ${entry.backup} of ${entry.path} is missing; left the file as it is`,
            );
            continue;
          }
          await machine.writeFileAtomic(entry.path, bytes, entry.mode ?? 0o644);
          report.restored.push(entry.path);
          onLine(`restored ${entry.path}`);
        }
        continue;
      }
      for (const inv of entry.inverse) {
        const r = await machine.run(inv.argv, {
          timeoutMs: inv.timeoutMs ?? 120_000,
          ...(inv.input !== undefined ? { input: inv.input } : {}),
        });
        const text = inv.argv.join(' ');
        await machine.appendFile(
          logPath,
          `$ ${text}\n${r.stdout}${r.stderr}[exit ${r.exitCode}]\n`,
          0o600,
        );
        report.commands.push(text);
        const failed = r.exitCode !== 0 && !(inv.okExitCodes ?? [0]).includes(r.exitCode);
        const output = `${r.stderr}${r.stdout}`;
        if (failed && inv.goneWhen?.some((g) => output.includes(g))) {
          // Undone already: another run's inverse (or the user) removed it first.
          onLine(`$ ${text} (already gone)`);
        } else if (failed) {
          // An interrupted run may have journaled a command that never took effect.
          const msg = `${text}: exit ${r.exitCode} ${r.stderr.trim()}`;
          if (entry.state === 'done') report.problems.push(msg);
          onLine(`! ${msg}`);
        } else {
          onLine(`$ ${text}`);
        }
      }
    }
    run.undone = true;
    await saveJournal(machine, stateDir, journal);
  }
  return report;
}
