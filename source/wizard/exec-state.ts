import type { ExecEvent, Recap } from '../executor.js';

/**
 * The Execute screen's model, folded from the executor's events: finished steps (printed once, in
 * Ink's <Static>), the running step with the live tail of its output, the failure, the recap.
 */

export const TAIL_LINES = 6;

export interface FinishedStep {
  index: number;
  title: string;
  status: 'ok' | 'changed' | 'failed';
  /** "already ok" reason, or what changed. */
  detail: string;
  durationMs: number;
}

export interface RunningStep {
  index: number;
  title: string;
  startedAt: number;
  /** The last command or file action started. */
  action: string | null;
  tail: string[];
  /** An unfinished last line (a progress bar redrawn with \r). */
  partial: string;
}

export interface Failure {
  title: string;
  command: string;
  exitCode: number;
  stderr: string;
  timedOut: boolean;
  hint: string;
}

export interface ExecState {
  total: number;
  logPath: string | null;
  startedAt: number | null;
  finished: FinishedStep[];
  running: RunningStep | null;
  failure: Failure | null;
  recap: Recap | null;
  /** The executor threw (not a step failure): the message. */
  crash: string | null;
}

export function initialExecState(): ExecState {
  return {
    total: 0,
    logPath: null,
    startedAt: null,
    finished: [],
    running: null,
    failure: null,
    recap: null,
    crash: null,
  };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** Append output to a tail: complete lines kept (last TAIL_LINES), \r restarts the current line. */
export function appendTail(
  tail: string[],
  partial: string,
  chunk: string,
): { tail: string[]; partial: string } {
  const lines = [...tail];
  let cur = partial;
  for (const ch of chunk.replace(ANSI, '')) {
    if (ch === '\n') {
      if (cur.trim() !== '') lines.push(cur.trimEnd());
      cur = '';
    } else if (ch === '\r') {
      cur = '';
    } else if (ch >= ' ' || ch === '\t') {
      cur += ch === '\t' ? '  ' : ch;
    }
  }
  return { tail: lines.slice(-TAIL_LINES), partial: cur };
}

export function execReducer(state: ExecState, event: ExecEvent, now: number): ExecState {
  switch (event.type) {
    case 'start':
      return { ...state, total: event.total, logPath: event.logPath, startedAt: now };
    case 'step-start':
      return {
        ...state,
        running: {
          index: event.index,
          title: event.step.title,
          startedAt: now,
          action: null,
          tail: [],
          partial: '',
        },
      };
    case 'step-ok': {
      const title =
        state.running?.index === event.index ? state.running.title : `step ${event.index + 1}`;
      return {
        ...state,
        running: null,
        finished: [
          ...state.finished,
          { index: event.index, title, status: 'ok', detail: event.reason, durationMs: 0 },
        ],
      };
    }
    case 'action':
      if (!state.running || state.running.index !== event.index) return state;
      return { ...state, running: { ...state.running, action: event.text } };
    case 'output': {
      if (!state.running || state.running.index !== event.index) return state;
      const { tail, partial } = appendTail(state.running.tail, state.running.partial, event.chunk);
      return { ...state, running: { ...state.running, tail, partial } };
    }
    case 'step-changed': {
      const title =
        state.running?.index === event.index ? state.running.title : `step ${event.index + 1}`;
      return {
        ...state,
        running: null,
        finished: [
          ...state.finished,
          {
            index: event.index,
            title,
            status: 'changed',
            detail: event.reason,
            durationMs: event.durationMs,
          },
        ],
      };
    }
    case 'step-failed': {
      const title =
        state.running?.index === event.index ? state.running.title : `step ${event.index + 1}`;
      return {
        ...state,
        running: null,
        finished: [
          ...state.finished,
          {
            index: event.index,
            title,
            status: 'failed',
            detail: event.command,
            durationMs: state.running ? now - state.running.startedAt : 0,
          },
        ],
        failure: {
          title,
          command: event.command,
          exitCode: event.exitCode,
          stderr: event.stderr,
          timedOut: event.timedOut,
          hint: event.hint,
        },
      };
    }
    case 'end':
      return { ...state, running: null, recap: event.recap };
  }
}

export function recapLine(r: Recap): string {
  return `ok=${r.ok} changed=${r.changed} failed=${r.failed}${r.skipped ? ` skipped=${r.skipped}` : ''}`;
}

export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
