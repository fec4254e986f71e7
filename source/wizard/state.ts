import type { ConfigIssue } from '../config/load.js';
import type { Lab } from '../config/resolve.js';
import type { LabFile } from '../config/schema.js';
import type { HostFacts } from '../facts/types.js';
import type { HostChoice } from '../plan/plan.js';
import {
  addItem,
  emptyAnswers,
  removeItem,
  setValue,
  value,
  type Answers,
  type ListName,
} from './answers.js';
import { listFields, screenErrors, screenFields, type ScreenId } from './questions.js';
import { buildLab, labToAnswers, type BuiltLab } from './to-lab.js';

/**
 * The wizard's state: a stack of the screens visited (Esc pops one, answers stay), the answers, and
 * what the command told us (facts, lab files found). Pure: the Ink app and the tests drive it with
 * the same actions.
 */

/** A lab file offered on the Load screen (given with --lab, or a *.yaml in the working directory). */
export interface LabCandidate {
  path: string;
  /** How it came: --lab, or found in the working directory. */
  given: boolean;
  lab: Lab | null;
  /** Why it is not a valid lab file (null when it is). */
  problem: string | null;
  /** Which of its hosts this machine is (as `apply` decides). */
  match: HostChoice | null;
}

export type LabSource =
  | { kind: 'new' }
  /** Use a loaded lab file as it is, for one of its hosts: straight to the review. */
  | { kind: 'file'; path: string; host: string; file: LabFile };

export interface WizardState {
  stack: ScreenId[];
  answers: Answers;
  facts: HostFacts | null;
  labs: LabCandidate[];
  source: LabSource;
  /** Set by the Load screen when answers were started from a lab file (what was not kept). */
  editedFrom: string | null;
  saved: { lab: string | null; sh: string | null };
}

export type WizardAction =
  | { type: 'detected'; facts: HostFacts; labs: LabCandidate[] }
  | { type: 'set'; id: string; value: string }
  | { type: 'add'; list: ListName }
  | { type: 'remove'; list: ListName; index: number }
  | { type: 'next' }
  | { type: 'back' }
  | { type: 'goto'; screen: ScreenId }
  | { type: 'use-lab'; path: string; host: string }
  | { type: 'edit-lab'; path: string; host: string }
  | { type: 'new-lab' }
  | { type: 'saved'; kind: 'lab' | 'sh'; path: string }
  | { type: 'execute' }
  | { type: 'finished' };

export function initialState(answers: Answers = emptyAnswers()): WizardState {
  return {
    stack: ['detect'],
    answers,
    facts: null,
    labs: [],
    source: { kind: 'new' },
    editedFrom: null,
    saved: { lab: null, sh: null },
  };
}

export function current(state: WizardState): ScreenId {
  return state.stack[state.stack.length - 1] ?? 'detect';
}

/** The question screens for the answers so far, in order, from Detect to Review. */
export function screenSequence(state: WizardState): ScreenId[] {
  const seq: ScreenId[] = ['detect'];
  if (state.labs.length > 0) seq.push('load');
  if (state.source.kind === 'file') return [...seq, 'review'];
  seq.push('role');
  if (!state.facts) return [...seq, 'review'];
  const ctx = { answers: state.answers, facts: state.facts };
  const role = value(ctx, 'role');
  if (role === 'director') {
    seq.push('mode', 'service', 'real-servers');
    if (value(ctx, 'ha') !== 'none') seq.push('ha');
  } else if (role === 'real-server') {
    seq.push('mode', 'service', 'director', 'real-servers');
  } else {
    seq.push('exports');
  }
  seq.push('network', 'firewall', 'review');
  return seq;
}

/** Numbered position among the question screens (for "3/9" in the header). */
export function progress(state: WizardState): { index: number; total: number } {
  const seq = screenSequence(state);
  const i = seq.indexOf(current(state));
  return { index: i < 0 ? seq.length : i + 1, total: seq.length };
}

/** Why the current screen cannot be left forwards (empty when it can). */
export function blockers(state: WizardState, screen: ScreenId = current(state)): string[] {
  if (!state.facts) return screen === 'detect' ? ['still reading this host'] : [];
  return screenErrors(screen, { answers: state.answers, facts: state.facts });
}

/** The lab to review: the loaded file as it is, or the one built from the answers. */
export function labToReview(state: WizardState): BuiltLab | null {
  if (!state.facts) return null;
  if (state.source.kind === 'file') {
    const src = state.source;
    const cand = state.labs.find((l) => l.path === src.path);
    if (!cand?.lab) return null;
    return { ok: true, lab: cand.lab, file: src.file, yaml: '', host: src.host };
  }
  return buildLab(state.answers, state.facts);
}

export function labIssues(state: WizardState): ConfigIssue[] {
  const built = labToReview(state);
  return built && !built.ok ? built.issues : [];
}

function changed(state: WizardState, answers: Answers): WizardState {
  if (answers === state.answers) return state;
  return { ...state, answers, saved: { lab: null, sh: null } };
}

function push(state: WizardState, screen: ScreenId): WizardState {
  return { ...state, stack: [...state.stack, screen] };
}

export function wizardReducer(state: WizardState, action: WizardAction): WizardState {
  switch (action.type) {
    case 'detected':
      return { ...state, facts: action.facts, labs: action.labs };
    // A change after saving makes the saved file stale: the review offers to save again.
    case 'set':
      return changed(state, setValue(state.answers, action.id, action.value));
    case 'add':
      if (!state.facts) return state;
      return changed(state, addItem({ answers: state.answers, facts: state.facts }, action.list));
    case 'remove':
      return changed(state, removeItem(state.answers, action.list, action.index));
    case 'next': {
      const here = current(state);
      if (blockers(state, here).length > 0) return state;
      const seq = screenSequence(state);
      const i = seq.indexOf(here);
      const next = i >= 0 ? seq[i + 1] : undefined;
      return next ? push(state, next) : state;
    }
    case 'back': {
      const here = current(state);
      // Once the host is being changed there is no way back; after it, only forwards.
      if (here === 'execute' || here === 'done' || state.stack.length <= 1) return state;
      return { ...state, stack: state.stack.slice(0, -1) };
    }
    case 'goto': {
      // Jump back to a screen of the current sequence (from the review, to fix a problem).
      const seq = screenSequence(state);
      const i = seq.indexOf(action.screen);
      if (i < 0) return state;
      return { ...state, stack: seq.slice(0, i + 1) };
    }
    case 'use-lab': {
      const cand = state.labs.find((l) => l.path === action.path);
      if (!cand?.lab || !cand.lab.file.hosts[action.host]) return state;
      return push(
        {
          ...state,
          source: { kind: 'file', path: action.path, host: action.host, file: cand.lab.file },
          saved: { ...state.saved, lab: action.path },
        },
        'review',
      );
    }
    case 'edit-lab': {
      const cand = state.labs.find((l) => l.path === action.path);
      if (!cand?.lab || !state.facts || !cand.lab.file.hosts[action.host]) return state;
      const answers = labToAnswers(cand.lab, action.host, state.facts, {
        ...state.answers,
        values: {},
        realServers: [],
        exports: [],
      });
      return push(
        {
          ...state,
          answers,
          source: { kind: 'new' },
          editedFrom: action.path,
          saved: { ...state.saved, lab: null },
        },
        'role',
      );
    }
    case 'new-lab':
      return push(
        { ...state, source: { kind: 'new' }, saved: { ...state.saved, lab: null } },
        'role',
      );
    case 'saved':
      return { ...state, saved: { ...state.saved, [action.kind]: action.path } };
    case 'execute':
      return current(state) === 'review' ? push(state, 'execute') : state;
    case 'finished':
      return current(state) === 'execute' ? push(state, 'done') : state;
  }
}

/** The file name the review proposes for the lab: `<lab name>.yaml`. */
export function defaultLabPath(state: WizardState): string {
  if (state.source.kind === 'file') return state.source.path;
  if (!state.facts) return 'lab.yaml';
  const name = value({ answers: state.answers, facts: state.facts }, 'labName').trim();
  return `${name || 'lab'}.yaml`;
}

export function defaultShPath(state: WizardState, host: string): string {
  const lab = defaultLabPath(state).replace(/\.ya?ml$/, '');
  return `${lab}-${host}.sh`;
}

/** The schema's message for `v` in field `id` of the current screen, as if it were typed. */
export function fieldError(state: WizardState, id: string, v: string): string | null {
  if (!state.facts) return null;
  const trial = wizardReducer(state, { type: 'set', id, value: v });
  const ctx = { answers: trial.answers, facts: state.facts };
  const all = [
    ...screenFields(current(state), ctx),
    ...ctx.answers.realServers.flatMap((_, i) => listFields(ctx, 'realServers', i)),
    ...ctx.answers.exports.flatMap((_, i) => listFields(ctx, 'exports', i)),
  ];
  return all.find((f) => f.id === id)?.error ?? null;
}
