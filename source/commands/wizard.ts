import { resolve as resolvePath } from 'node:path';
import type { Machine, RunResult } from '../boundary.js';
import type { LabFile } from '../config/schema.js';
import type { ExecEvent } from '../executor.js';
import type { HostFacts } from '../facts/types.js';
import { VERSION } from '../version.js';
import type { Prompter } from '../wizard/plain.js';
import type {
  Detected,
  PlanView,
  SaveResult,
  WizardResult,
  WizardServices,
} from '../wizard/services.js';
import type { LabCandidate } from '../wizard/state.js';
import { MONITOR_COMMAND } from '../wizard/summary.js';
import type { Prepared } from './common.js';
import { CliError, EXIT, type Output } from './output.js';

// The first frame waits for this module only: the planner, the lab-file parser, the executor
// and the fact readers are loaded when first used (each its own chunk), not before Ink is up.
const lazy = {
  load: () => import('../config/load.js'),
  plan: () => import('../plan/plan.js'),
  render: () => import('../plan/render.js'),
  common: () => import('./common.js'),
  gather: () => import('../facts/gather.js'),
  executor: () => import('../executor.js'),
  doctor: () => import('../doctor/doctor.js'),
};

export interface WizardOptions {
  lab?: string;
  dryRun?: boolean;
  plain?: boolean;
}

export const NO_TTY_MESSAGE = [
  'lvs-setup: the wizard needs an interactive terminal, and this is not one (stdin or stdout is not a TTY).',
  'Without a terminal, configure a host from a lab file:',
  '  lvs-setup apply --lab FILE [--host NAME] --yes',
  'Write FILE from examples/*.yaml, or run the wizard once in a terminal (--dry-run works anywhere) to save one.',
].join('\n');

/** Exit code when the user quits with Ctrl-C (as a shell reports SIGINT). */
export const EXIT_INTERRUPTED = 130;

const MAX_FOUND_LABS = 10;

/** Lab files to offer: the one given with --lab, else *.yaml in the working directory. */
export async function findLabs(
  machine: Machine,
  facts: HostFacts,
  cwd: string,
  given?: string,
): Promise<LabCandidate[]> {
  const candidates: Array<{ path: string; given: boolean }> = [];
  if (given !== undefined) candidates.push({ path: given, given: true });
  else {
    const names = ((await machine.listDir(cwd)) ?? [])
      .filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.'))
      .sort()
      .slice(0, MAX_FOUND_LABS);
    for (const n of names) candidates.push({ path: n, given: false });
  }
  const out: LabCandidate[] = [];
  if (candidates.length === 0) return out;
  const [{ formatIssues, parseLab }, { selectHost }] = await Promise.all([
    lazy.load(),
    lazy.plan(),
  ]);
  for (const c of candidates) {
    const text = await machine.readFile(resolvePath(cwd, c.path));
    if (text === null) {
      out.push({
        ...c,
        lab: null,
        problem: `${c.path}: no such file (or it cannot be read)`,
        match: null,
      });
      continue;
    }
    const parsed = parseLab(text, c.path);
    if (!parsed.ok) {
      // Other YAML files in the folder are none of our business; a given one must be explained.
      if (c.given || /^hosts:/m.test(text))
        out.push({ ...c, lab: null, problem: formatIssues(parsed.issues, c.path), match: null });
      continue;
    }
    out.push({ ...c, lab: parsed.lab, problem: null, match: selectHost(parsed.lab, facts) });
  }
  return out;
}

async function planView(p: Prepared): Promise<PlanView> {
  const [{ countPlan }, { renderText, summaryLine }] = await Promise.all([
    lazy.plan(),
    lazy.render(),
  ]);
  const { change, ok } = countPlan(p.plan);
  return {
    ok: true,
    host: p.plan.host,
    role: p.plan.role,
    distro: p.plan.distro,
    steps: p.plan.steps.map(({ step, decision }) => ({
      title: step.title,
      recipe: step.recipe,
      status: decision.status,
      reason: decision.reason,
    })),
    change,
    unchanged: ok,
    summary: summaryLine(p.plan),
    text: renderText(p.plan, p.facts),
    warnings: p.plan.warnings,
    hasSecrets: p.plan.secrets.length > 0,
  };
}

const interruptedResult: RunResult = {
  exitCode: EXIT_INTERRUPTED,
  stdout: '',
  stderr: 'interrupted (Ctrl-C) before this command started: it did not run',
  timedOut: false,
  notFound: false,
  durationMs: 0,
};

/**
 * The machine as the executor sees it during the wizard's apply: after Ctrl-C no new command
 * starts (the running one finishes; file writes are atomic), so the executor records a failed
 * step and a re-run resumes from there.
 */
export function interruptible(machine: Machine, stopped: () => boolean): Machine {
  return {
    run: (argv, options) =>
      stopped() ? Promise.resolve({ ...interruptedResult }) : machine.run(argv, options),
    readFile: (p) => machine.readFile(p),
    readFileBytes: (p) => machine.readFileBytes(p),
    stat: (p) => machine.stat(p),
    writeFileAtomic: (p, c, m) => machine.writeFileAtomic(p, c, m),
    appendFile: (p, c, m) => machine.appendFile(p, c, m),
    removeFile: (p) => machine.removeFile(p),
    mkdirp: (p, m) => machine.mkdirp(p, m),
    listDir: (p) => machine.listDir(p),
    uid: () => machine.uid(),
    env: (n) => machine.env(n),
  };
}

export interface ServiceOptions {
  lab?: string;
  cwd: string;
  dryRun: boolean;
  dryRunReason: 'flag' | 'not-root' | null;
}

/** The wizard's window on the machine: facts, plans, saving, applying. */
export function createWizardServices(machine: Machine, o: ServiceOptions): WizardServices {
  let last: Prepared | null = null;
  let lastScript: string | null = null;
  let stopped = false;
  let detecting: Promise<Detected> | null = null;
  return {
    dryRun: o.dryRun,
    dryRunReason: o.dryRunReason,
    uid: machine.uid(),
    // once: runWizardCommand starts it before the screens load, the Detect screen awaits it
    detect() {
      detecting ??= (async () => {
        const { gatherFacts } = await lazy.gather();
        const facts = await gatherFacts(machine);
        return { facts, labs: await findLabs(machine, facts, o.cwd, o.lab) };
      })();
      return detecting;
    },
    async system() {
      const { readSystem } = await lazy.gather();
      return readSystem();
    },
    async plan(file: LabFile, host: string) {
      last = null;
      lastScript = null;
      const [{ formatIssues, validateLab }, { prepare }, { renderSh }] = await Promise.all([
        lazy.load(),
        lazy.common(),
        lazy.render(),
      ]);
      const checked = validateLab(file);
      if (!checked.ok) return { ok: false, message: formatIssues(checked.issues, 'the lab') };
      try {
        last = await prepare(machine, checked.lab, host);
        lastScript = renderSh(last.plan, VERSION);
        return await planView(last);
      } catch (e) {
        if (e instanceof CliError) return { ok: false, message: e.message };
        throw e;
      }
    },
    async save(
      path: string,
      content: string,
      mode: number,
      overwrite: boolean,
    ): Promise<SaveResult> {
      const abs = resolvePath(o.cwd, path);
      try {
        if (!overwrite && (await machine.stat(abs)) !== null) return { status: 'exists', path };
        await machine.writeFileAtomic(abs, content.endsWith('\n') ? content : `${content}\n`, mode);
        return { status: 'saved', path, mode };
      } catch (e) {
        return { status: 'error', path, message: e instanceof Error ? e.message : String(e) };
      }
    },
    script() {
      return lastScript;
    },
    async execute(onEvent: (e: ExecEvent) => void) {
      const p = last;
      if (!p) throw new Error('no plan to apply');
      if (o.dryRun) throw new Error('dry run: nothing is applied');
      stopped = false;
      const [{ stepReads }, { refreshAfterStep }, { execute }] = await Promise.all([
        lazy.plan(),
        lazy.gather(),
        lazy.executor(),
      ]);
      const reads = stepReads(p.steps);
      return execute({
        machine: interruptible(machine, () => stopped),
        steps: p.steps,
        facts: p.facts,
        refresh: refreshAfterStep(machine, reads),
        lab: p.ctx.lab.file.name,
        host: p.ctx.hostName,
        secrets: p.plan.secrets,
        onEvent,
      });
    },
    async checks(labPath: string | null) {
      const p = last;
      if (!p) return [];
      const { runDoctor, AFTER_APPLY_REACH_LIMIT } = await lazy.doctor();
      const run = await runDoctor(machine, {
        lab: { lab: p.ctx.lab, host: p.ctx.hostName, path: labPath ?? o.lab ?? null },
        vrrpSeconds: 0,
        reachLimit: AFTER_APPLY_REACH_LIMIT,
      });
      return run.results;
    },
    interrupt() {
      stopped = true;
    },
  };
}

/** What is left on the terminal after the wizard: what was saved, what to run next. */
export function closingMessage(result: WizardResult, services: WizardServices): string[] {
  const lines: string[] = [];
  const { outcome, saved } = result;
  if (outcome.kind === 'interrupted') {
    lines.push(
      `Interrupted. ${saved.lab || saved.sh ? 'Saved before that:' : 'Nothing was saved and nothing on this host changed.'}`,
    );
  } else if (outcome.kind === 'reviewed' || outcome.kind === 'quit') {
    lines.push(
      services.dryRun ? 'Dry run: nothing on this host changed.' : 'Nothing on this host changed.',
    );
  }
  if (saved.lab) lines.push(`  lab file: ${saved.lab}`);
  if (saved.sh)
    lines.push(`  shell script: ${saved.sh} (run it as root on the host it was made for)`);
  if ((outcome.kind === 'reviewed' || outcome.kind === 'quit') && saved.lab) {
    lines.push('Next, on each host of the lab (this one included, as root):');
    lines.push(
      `  sudo npx lvs-setup apply --lab ${saved.lab}   # finds the host by address or MAC`,
    );
    for (const h of result.otherHosts) lines.push(`  ${h.command}   # ${h.role}`);
  }
  if (outcome.kind === 'monitor') lines.push(`Run the monitor: ${MONITOR_COMMAND}`);
  return lines;
}

function exitCodeOf(result: WizardResult): number {
  switch (result.outcome.kind) {
    case 'interrupted':
      return EXIT_INTERRUPTED;
    case 'done':
      return result.outcome.recap.failed > 0 ? EXIT.failed : EXIT.ok;
    case 'monitor':
      return result.outcome.recap && result.outcome.recap.failed > 0 ? EXIT.failed : EXIT.ok;
    default:
      return EXIT.ok;
  }
}

/** enquirer as the plain mode's prompter. */
async function enquirerPrompter(): Promise<Prompter> {
  const [{ default: Enquirer }, { PromptCancelled }] = await Promise.all([
    import('enquirer'),
    import('../wizard/plain.js'),
  ]);
  const ask = async <T>(question: Record<string, unknown>): Promise<T> => {
    process.stdin.ref();
    try {
      const r = (await Enquirer.prompt({ name: 'v', ...question } as never)) as { v: T };
      return r.v;
    } catch {
      // enquirer rejects (with no error) when the user presses Ctrl-C or Esc.
      throw new PromptCancelled('cancelled');
    }
  };
  return {
    select: (message, choices, initial) =>
      ask<string>({
        type: 'select',
        message,
        choices,
        initial: Math.max(
          0,
          choices.findIndex((c) => c.name === initial),
        ),
      }),
    input: (message, initial, validate) =>
      ask<string>({ type: 'input', message, initial, validate }),
    confirm: (message, initial) => ask<boolean>({ type: 'confirm', message, initial }),
  };
}

export async function runWizardCommand(
  machine: Machine,
  opts: WizardOptions,
  io: Output,
): Promise<number> {
  // Ink throws without a TTY and enquirer would wait forever: say what to do instead.
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    io.err(NO_TTY_MESSAGE);
    return EXIT.usage;
  }
  const notRoot = machine.uid() !== 0;
  const dryRun = opts.dryRun === true || notRoot;
  const services = createWizardServices(machine, {
    cwd: process.cwd(),
    dryRun,
    dryRunReason: opts.dryRun ? 'flag' : notRoot ? 'not-root' : null,
    ...(opts.lab !== undefined ? { lab: opts.lab } : {}),
  });

  let result: WizardResult;
  if (opts.plain) {
    const { runPlain } = await import('../wizard/plain.js');
    result = await runPlain(services, await enquirerPrompter(), io);
  } else {
    // The monitor's byte-identical output step draws the wizard too: Ink's own re-tokenizes the
    // whole screen each frame, and while the host is read the spinner redraws it 12 times a
    // second. In an idle TCG guest the Detect screen then came after 31.9 s (29.8-36.1) with
    // 16.0 s of CPU, against 36.0 s and 19.4 s (LAB_BENCH_PARTS=wizard npm run bench:lab).
    const [{ startBoot }, { installFastOutput }] = await Promise.all([
      import('../../screens/wizard/boot.js'),
      import('../../screens/ink-fast-output.js'),
    ]);
    installFastOutput();
    let got: WizardResult | null = null;
    const onExit = (r: WizardResult) => {
      got = r;
    };
    // Another prompt (enquirer) may have paused stdin; Ink needs it flowing.
    process.stdin.resume();
    const instance = startBoot({
      app: { services, onExit },
      load: () => import('../../screens/wizard/app.js').then((m) => m.WizardApp),
      onExit,
    });
    // Read the host while the screens load (its child processes run meanwhile).
    services.detect().catch(() => {
      /* the Detect screen shows the error */
    });
    await instance.waitUntilExit();
    result = got ?? {
      outcome: { kind: 'interrupted', screen: 'unknown' },
      saved: { lab: null, sh: null },
      otherHosts: [],
    };
  }
  const lines = closingMessage(result, services);
  if (lines.length > 0) io.out(lines.join('\n'));
  return exitCodeOf(result);
}
