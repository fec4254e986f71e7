import type { Output } from '../commands/common.js';
import { labToYaml } from '../config/load.js';
import type { ExecEvent, Recap } from '../executor.js';
import { emptyAnswers, type Answers, type AnswerContext } from './answers.js';
import { recapLine } from './exec-state.js';
import { detectWarnings, hostSummary, nicRows } from './host-view.js';
import {
  listFields,
  screenFields,
  screenLevelErrors,
  SCREEN_TITLES,
  type FieldView,
} from './questions.js';
import type { WizardOutcome, WizardResult, WizardServices } from './services.js';
import {
  current,
  defaultLabPath,
  defaultShPath,
  fieldError,
  initialState,
  labToReview,
  wizardReducer,
  type WizardAction,
  type WizardState,
} from './state.js';
import { MONITOR_COMMAND, otherHostCommands, topologySketch } from './summary.js';
import { labHeader, screenForIssue } from './to-lab.js';
import { MASK } from '../plan/render.js';

/**
 * `--plain`: the same questions (source/wizard/questions.ts) as numbered line prompts, for serial
 * consoles and terminals where a full-screen app misbehaves. The prompter is injected: enquirer in
 * the command, a script in the tests. Typing `<` (or choosing "< back") goes back one screen.
 */

export const BACK = '<';

export interface PromptChoice {
  name: string;
  message: string;
  hint?: string;
}

export interface Prompter {
  select(message: string, choices: PromptChoice[], initial: string): Promise<string>;
  input(message: string, initial: string, validate: (v: string) => string | true): Promise<string>;
  confirm(message: string, initial: boolean): Promise<boolean>;
}

/** Thrown by a prompter when the user pressed Ctrl-C. */
export class PromptCancelled extends Error {}

const backChoice: PromptChoice = { name: BACK, message: '< back' };

class Back extends Error {}

export async function runPlain(
  services: WizardServices,
  prompter: Prompter,
  io: Output,
  answers: Answers = emptyAnswers(),
): Promise<WizardResult> {
  let state: WizardState = initialState(answers);
  const dispatch = (a: WizardAction) => {
    state = wizardReducer(state, a);
  };
  let n = 0;
  const num = () => {
    n += 1;
    return `${n}.`;
  };
  let recap: Recap | null = null;

  const result = (outcome: WizardOutcome): WizardResult => {
    const built = labToReview(state);
    return {
      outcome,
      saved: state.saved,
      otherHosts: built?.ok
        ? otherHostCommands(built.lab, state.saved.lab ?? defaultLabPath(state), built.host)
        : [],
    };
  };

  const ask = async (f: FieldView, title: string): Promise<string> => {
    const label = `${num()} ${title} — ${f.label}`;
    if (f.kind === 'choice') {
      const choices = f.options.map((o) => ({
        name: o.value,
        message: o.label,
        hint: (o.disabled ? `(not now: ${o.disabled})` : o.help.split('\n')[0]) ?? '',
      }));
      for (;;) {
        const v = await prompter.select(label, [...choices, backChoice], f.value);
        if (v === BACK) throw new Back();
        const o = f.options.find((x) => x.value === v);
        if (o?.disabled) {
          io.err(`  ✘ ${o.disabled}`);
          continue;
        }
        return v;
      }
    }
    const initial = f.secret ? '' : f.value;
    const hint = f.secret ? ` (Enter keeps the generated one, ${MASK})` : '';
    const v = await prompter.input(`${label}${hint}`, initial, (x) => {
      if (x.trim() === BACK) return true;
      if (f.secret && x === '') return true;
      return validateLike(f, x) ?? true;
    });
    if (v.trim() === BACK) throw new Back();
    if (f.secret && v === '') return f.value;
    return v;
  };

  const validateLike = (f: FieldView, v: string): string | null => fieldError(state, f.id, v);

  io.out('lvs-setup wizard (plain mode). Type < to go back one screen; Ctrl-C quits.');
  io.out('Reading this host…');
  const d = await services.detect();
  dispatch({ type: 'detected', facts: d.facts, labs: d.labs });
  printDetect(state, services, io);

  try {
    for (;;) {
      const screen = current(state);
      const facts = state.facts;
      if (!facts) throw new Error('no facts');
      const title = SCREEN_TITLES[screen];
      try {
        switch (screen) {
          case 'detect':
            dispatch({ type: 'next' });
            break;
          case 'load': {
            const choices: PromptChoice[] = [];
            for (const c of state.labs) {
              if (!c.lab) {
                io.out(`${c.path}: ${c.problem ?? 'not a lab file'}`);
                continue;
              }
              if (c.match?.ok) {
                choices.push({
                  name: `use:${c.path}:${c.match.host}`,
                  message: `Use ${c.path} as host ${c.match.host} (${c.match.how})`,
                });
                choices.push({
                  name: `edit:${c.path}:${c.match.host}`,
                  message: `Start from ${c.path}'s answers for host ${c.match.host}`,
                });
              } else {
                for (const h of Object.keys(c.lab.file.hosts))
                  choices.push({
                    name: `use:${c.path}:${h}`,
                    message: `Use ${c.path} as host ${h}`,
                  });
              }
            }
            choices.push({ name: 'new', message: 'Start a new lab' });
            const v = await prompter.select(
              `${num()} ${title}`,
              [...choices, backChoice],
              choices[0]?.name ?? 'new',
            );
            if (v === BACK) throw new Back();
            if (v === 'new') dispatch({ type: 'new-lab' });
            else {
              const [kind, ...rest] = v.split(':');
              const host = rest.pop() ?? '';
              const path = rest.join(':');
              dispatch({ type: kind === 'edit' ? 'edit-lab' : 'use-lab', path, host });
            }
            break;
          }
          case 'real-servers':
          case 'exports': {
            const list = screen === 'real-servers' ? 'realServers' : 'exports';
            for (;;) {
              const c2: AnswerContext = { answers: state.answers, facts };
              const items =
                list === 'realServers' ? state.answers.realServers : state.answers.exports;
              io.out(`${title}:`);
              if (items.length === 0) io.out('  (none yet)');
              items.forEach((_, i) => {
                const fields = listFields(c2, list, i);
                const bad = fields.find((f) => f.error);
                io.out(
                  `  ${i + 1}) ${fields.map((f) => f.value).join('  ')}${bad ? `  ✘ ${bad.label}: ${bad.error}` : ''}`,
                );
              });
              const choices: PromptChoice[] = [
                {
                  name: 'add',
                  message: list === 'realServers' ? 'add a real server' : 'add an export',
                },
                ...items.flatMap((_, i) => [
                  { name: `edit:${i}`, message: `edit ${i + 1}` },
                  { name: `remove:${i}`, message: `remove ${i + 1}` },
                ]),
                { name: 'continue', message: 'continue' },
              ];
              const v = await prompter.select(
                `${num()} ${title}`,
                [...choices, backChoice],
                items.length > 0 ? 'continue' : 'add',
              );
              if (v === BACK) throw new Back();
              if (v === 'continue') {
                const errs = screenLevelErrors(screen, c2);
                if (errs.length === 0) {
                  dispatch({ type: 'next' });
                  break;
                }
                for (const e of errs) io.err(`  ✘ ${e}`);
                continue;
              }
              const [op, idx] = v.split(':');
              let index = Number(idx);
              if (op === 'remove') {
                dispatch({ type: 'remove', list, index });
                continue;
              }
              if (op === 'add') {
                dispatch({ type: 'add', list });
                index =
                  (list === 'realServers' ? state.answers.realServers : state.answers.exports)
                    .length - 1;
              }
              const count = listFields({ answers: state.answers, facts }, list, index).length;
              for (let k = 0; k < count; k++) {
                const f = listFields({ answers: state.answers, facts }, list, index)[k];
                if (!f) break;
                try {
                  const val = await ask(f, `${title} ${index + 1}`);
                  dispatch({ type: 'set', id: f.id, value: val });
                } catch (e) {
                  if (e instanceof Back) break;
                  throw e;
                }
              }
            }
            break;
          }
          case 'review': {
            const done = await plainReview(state, services, prompter, io, dispatch, num);
            if (done === 'quit')
              return result({ kind: services.dryRun ? 'reviewed' : 'quit', screen });
            break;
          }
          case 'execute': {
            io.out('Applying…');
            recap = await services.execute(plainProgress(io));
            io.out(recapLine(recap));
            dispatch({ type: 'finished' });
            break;
          }
          case 'done': {
            if (!recap) return result({ kind: 'quit', screen });
            const built = labToReview(state);
            if (recap.failed > 0)
              io.out(
                'A step failed: fix its cause and run the wizard (or apply) again; it resumes where it stopped.',
              );
            if (built?.ok) {
              const others = otherHostCommands(
                built.lab,
                state.saved.lab ?? defaultLabPath(state),
                built.host,
              );
              if (others.length > 0) io.out('On the other hosts of the lab:');
              for (const o of others) io.out(`  ${o.command}   # ${o.role}`);
            }
            io.out(`Watch the director live: ${MONITOR_COMMAND}`);
            return result({ kind: 'done', recap });
          }
          default: {
            // A form: each visible field in turn; the list is recomputed after every answer
            // (choosing "static" for a NIC adds its address fields).
            let k = 0;
            for (;;) {
              const fields = screenFields(screen, { answers: state.answers, facts });
              const f = fields[k];
              if (!f) break;
              const v = await ask(f, title);
              dispatch({ type: 'set', id: f.id, value: v });
              k += 1;
            }
            const errs = screenLevelErrors(screen, { answers: state.answers, facts });
            if (errs.length > 0) {
              for (const e of errs) io.err(`  ✘ ${e}`);
              break;
            }
            dispatch({ type: 'next' });
          }
        }
      } catch (e) {
        if (!(e instanceof Back)) throw e;
        dispatch({ type: 'back' });
      }
    }
  } catch (e) {
    if (e instanceof PromptCancelled)
      return result({ kind: 'interrupted', screen: current(state) });
    throw e;
  }
}

function printDetect(state: WizardState, services: WizardServices, io: Output) {
  const facts = state.facts;
  if (!facts) return;
  const s = hostSummary(facts);
  io.out(`${facts.hostname} — ${s.distro}, kernel ${facts.kernel}`);
  for (const r of nicRows(facts))
    io.out(
      `  ${`${r.name}${r.defaultRoute ? ' *' : ''}`.padEnd(12)} ${r.state.padEnd(8)} ${r.addresses.padEnd(20)} ${r.mac}`,
    );
  io.out(
    `  (* = default route)  packages: ${s.packageManager} · IPVS: ${s.ipvs} · ipvsadm: ${s.ipvsadm} · keepalived: ${s.keepalived} · node ${s.node}`,
  );
  for (const w of detectWarnings(facts, {
    uid: services.uid,
    dryRunFlag: services.dryRunReason === 'flag',
  }))
    io.out(`${w.level === 'error' ? '✘' : '!'} ${w.text}`);
}

function plainProgress(io: Output): (e: ExecEvent) => void {
  let total = 0;
  const titles = new Map<number, string>();
  return (e) => {
    switch (e.type) {
      case 'start':
        total = e.total;
        break;
      case 'step-start':
        titles.set(e.index, e.step.title);
        break;
      case 'step-ok':
        io.out(`[${e.index + 1}/${total}] ${titles.get(e.index) ?? ''}: ok (${e.reason})`);
        break;
      case 'action':
        io.out(`[${e.index + 1}/${total}] ${titles.get(e.index) ?? ''}: ${e.text}`);
        break;
      case 'step-changed':
        io.out(`    changed (${(e.durationMs / 1000).toFixed(1)} s)`);
        break;
      case 'step-failed':
        io.err(
          `    FAILED: ${e.command} (exit ${e.exitCode}${e.timedOut ? ', timed out' : ''})\n${e.stderr
            .split('\n')
            .slice(-10)
            .map((l) => `    | ${l}`)
            .join('\n')}\n    ${e.hint}`,
        );
        break;
      default:
        break;
    }
  };
}

async function plainReview(
  state0: WizardState,
  services: WizardServices,
  prompter: Prompter,
  io: Output,
  dispatch: (a: WizardAction) => void,
  num: () => string,
): Promise<'quit' | 'moved'> {
  let state = state0;
  const built = labToReview(state);
  if (!built) return 'quit';
  if (!built.ok) {
    io.err('The lab from your answers is not valid yet:');
    for (const i of built.issues) io.err(`  ✘ ${i.path ? `${i.path}: ` : ''}${i.message}`);
    const first = built.issues[0];
    const screen =
      first && state.facts ? screenForIssue(first.path, state.answers, state.facts) : 'role';
    const v = await prompter.select(
      `${num()} Review`,
      [
        { name: 'goto', message: `go to the ${screen} screen to fix it` },
        backChoice,
        { name: 'quit', message: 'quit' },
      ],
      'goto',
    );
    if (v === 'quit') return 'quit';
    if (v === BACK) dispatch({ type: 'back' });
    else dispatch({ type: 'goto', screen });
    return 'moved';
  }
  io.out('Topology:');
  for (const l of topologySketch(built.lab, built.host)) io.out(`  ${l}`);
  io.out('Making the plan…');
  const plan = await services.plan(built.file, built.host);
  if (!plan.ok) io.err(plan.message);
  else io.out(plan.text);
  const saved = { ...state.saved };
  for (;;) {
    const canApply = !services.dryRun && plan.ok && plan.change > 0;
    const choices: PromptChoice[] = [
      { name: 'save', message: `save the lab file${saved.lab ? ` (saved as ${saved.lab})` : ''}` },
      ...(plan.ok
        ? [
            {
              name: 'sh',
              message: `save the shell script${saved.sh ? ` (saved as ${saved.sh})` : ''}`,
            },
          ]
        : []),
      ...(canApply ? [{ name: 'apply', message: 'apply now' }] : []),
      backChoice,
      {
        name: 'quit',
        message: services.dryRun
          ? 'finish (the review is the end of a dry run)'
          : 'quit without applying',
      },
    ];
    const v = await prompter.select(
      `${num()} Review`,
      choices,
      saved.lab ? (canApply ? 'apply' : 'quit') : 'save',
    );
    if (v === 'quit') return 'quit';
    if (v === BACK) {
      dispatch({ type: 'back' });
      return 'moved';
    }
    if (v === 'apply') {
      if (await prompter.confirm('Apply these changes to this host now?', false)) {
        dispatch({ type: 'execute' });
        return 'moved';
      }
      continue;
    }
    const kind = v === 'sh' ? 'sh' : 'lab';
    const suggested =
      kind === 'lab'
        ? (saved.lab ?? defaultLabPath(state))
        : (saved.sh ?? defaultShPath(state, built.host));
    const path = (
      await prompter.input(
        `${num()} Save the ${kind === 'lab' ? 'lab file' : 'script'} as`,
        suggested,
        (x) => (x.trim() ? true : 'expected a file name'),
      )
    ).trim();
    let content: string;
    let mode: number;
    if (kind === 'lab') {
      content = `${labHeader(path, built.host, state.facts?.hostname ?? '')}${built.yaml || labToYaml(built.file)}`;
      mode = built.file.vrrp?.auth_pass ? 0o600 : 0o644;
    } else {
      const script = services.script();
      if (script === null) continue;
      content = script;
      mode = plan.ok && plan.hasSecrets ? 0o600 : 0o700;
    }
    let r = await services.save(path, content, mode, false);
    if (r.status === 'exists') {
      if (!(await prompter.confirm(`${path} exists. Overwrite it?`, false))) continue;
      r = await services.save(path, content, mode, true);
    }
    if (r.status === 'saved') {
      io.out(`Saved ${r.path} (mode ${r.mode.toString(8).padStart(4, '0')}).`);
      saved[kind] = r.path;
      dispatch({ type: 'saved', kind, path: r.path });
      state = { ...state, saved: { ...saved } };
    } else if (r.status === 'error') io.err(`Could not save ${r.path}: ${r.message}`);
  }
}
