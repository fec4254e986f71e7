import type { Key } from 'ink';
import type { Action } from '../../source/plan/step.js';
import {
  drainActions,
  MAX_WEIGHT,
  restoreActions,
  setWeightActions,
  zeroCountersActions,
} from '../../source/monitor/actions.js';
import {
  hostPort,
  serviceLabel,
  type ServiceSnapshot,
  type Snapshot,
} from '../../source/monitor/model.js';
import {
  computeRates,
  countersTime,
  rateBase,
  EMPTY_HISTORY,
  pushHistory,
  ratesAtRest,
  repeatHistory,
  type History,
  type RatedDestination,
  type RatedService,
  type RatedSnapshot,
} from '../../source/monitor/rates.js';
import { chromeHeight } from './layout.js';

/**
 * The monitor screen's state and every change to it, as a pure reducer: the components only map
 * keys to events and draw. Changes to the director leave as a `request` the app hands to its
 * onAction callback; the reducer never runs anything.
 */

export const SORT_COLUMNS = [
  'table',
  'cps',
  'active',
  'inactive',
  'weight',
  'inPps',
  'outPps',
  'inBps',
  'outBps',
  'address',
] as const;
export type SortColumn = (typeof SORT_COLUMNS)[number];

export const SORT_LABELS: Record<SortColumn, string> = {
  table: 'ipvsadm order',
  cps: 'CPS',
  active: 'active conns',
  inactive: 'inactive conns',
  weight: 'weight',
  inPps: 'in packets/s',
  outPps: 'out packets/s',
  inBps: 'in bytes/s',
  outBps: 'out bytes/s',
  address: 'address',
};

export type Row =
  | { kind: 'service'; key: string; service: RatedService }
  | { kind: 'destination'; key: string; service: RatedService; destination: RatedDestination };

export type Mode =
  | { kind: 'browse' }
  | { kind: 'help' }
  | { kind: 'confirm-drain'; destKey: string }
  | { kind: 'confirm-zero' }
  | { kind: 'weight'; destKey: string; text: string };

export interface ActionRequest {
  id: number;
  actions: Action[];
  description: string;
  /** Shown when the change went through. */
  success: string;
}

export interface Message {
  text: string;
  tone: 'info' | 'success' | 'warn' | 'error';
}

export interface MonitorState {
  /** The last raw snapshot. */
  raw: Snapshot | null;
  /** The reading the current rates were measured against (rateBase). */
  rateBase: Snapshot | null;
  snapshot: RatedSnapshot | null;
  history: History;
  rows: Row[];
  selected: number;
  selectedKey: string | null;
  /** First row drawn. */
  top: number;
  /** How many rows fit on screen. */
  viewport: number;
  /** The terminal's height; when known, the viewport follows it and the header's height. */
  terminalRows: number | null;
  sort: SortColumn;
  paused: boolean;
  mode: Mode;
  /** Each server's weight when first seen above 0: what `r` restores. */
  originalWeights: Record<string, number>;
  /** Weights from the lab file, preferred over first-seen ones. */
  labWeights: Record<string, number>;
  message: Message | null;
  request: ActionRequest | null;
  nextRequestId: number;
  /** No onAction: the screen only watches. */
  readOnly: boolean;
  error: string | null;
  /** Set by q: the app exits when it sees it. */
  quit: boolean;
}

export type MonitorEvent =
  | { type: 'sample'; snapshot: Snapshot }
  | { type: 'source-error'; message: string }
  | { type: 'move'; delta: number }
  | { type: 'move-to'; where: 'first' | 'last' }
  | { type: 'page'; direction: 1 | -1 }
  | { type: 'resize'; viewport: number }
  | { type: 'terminal'; rows: number }
  | { type: 'cycle-sort' }
  | { type: 'toggle-pause' }
  | { type: 'toggle-help' }
  | { type: 'drain' }
  | { type: 'restore' }
  | { type: 'weight' }
  | { type: 'zero' }
  | { type: 'text'; text: string }
  | { type: 'backspace' }
  | { type: 'confirm' }
  | { type: 'cancel' }
  | { type: 'request-done'; id: number }
  | { type: 'request-failed'; id: number; message: string }
  | { type: 'quit' }
  /** A raw key press, mapped by the mode of the state it arrives in (not of a stale render). */
  | { type: 'key'; input: string; key: KeyLike };

/** The parts of Ink's Key the monitor reads. */
export type KeyLike = Partial<
  Pick<
    Key,
    | 'upArrow'
    | 'downArrow'
    | 'pageUp'
    | 'pageDown'
    | 'home'
    | 'end'
    | 'return'
    | 'escape'
    | 'backspace'
    | 'delete'
  >
>;

export interface InitOptions {
  viewport?: number;
  terminalRows?: number;
  labWeights?: Record<string, number>;
  readOnly?: boolean;
  sort?: SortColumn;
}

export function initialState(options: InitOptions = {}): MonitorState {
  return {
    raw: null,
    rateBase: null,
    snapshot: null,
    history: EMPTY_HISTORY,
    rows: [],
    selected: 0,
    selectedKey: null,
    top: 0,
    viewport: Math.max(1, options.viewport ?? 20),
    terminalRows: options.terminalRows ?? null,
    sort: options.sort ?? 'table',
    paused: false,
    mode: { kind: 'browse' },
    originalWeights: {},
    labWeights: options.labWeights ?? {},
    message: null,
    request: null,
    nextRequestId: 1,
    readOnly: options.readOnly ?? false,
    error: null,
    quit: false,
  };
}

type Metric = Exclude<SortColumn, 'table' | 'address'>;

function destinationValue(d: RatedDestination, column: Metric): number {
  switch (column) {
    case 'active':
      return d.activeConns;
    case 'inactive':
      return d.inactiveConns;
    case 'weight':
      return d.weight;
    default:
      return d.rates ? d.rates[column] : -1;
  }
}

function serviceValue(s: RatedService, column: Metric): number {
  switch (column) {
    case 'active':
    case 'inactive':
    case 'weight': {
      let n = 0;
      for (const d of s.destinations) n += destinationValue(d, column);
      return n;
    }
    default:
      return s.rates ? s.rates[column] : -1;
  }
}

type Compare<T> = (a: T, b: T) => number;

/**
 * The comparators, made once per column: one made on every call would lose its optimized code
 * at each full GC and be compiled again (see source/monitor/rates.ts, shares).
 */
const destinationOrder = new Map<SortColumn, Compare<RatedDestination>>();
const serviceOrder = new Map<SortColumn, Compare<RatedService>>();

function destinationCompare(sort: Exclude<SortColumn, 'table'>): Compare<RatedDestination> {
  let c = destinationOrder.get(sort);
  if (!c) {
    c =
      sort === 'address'
        ? (a, b) =>
            hostPort(a.address, a.port, a.family).localeCompare(
              hostPort(b.address, b.port, b.family),
            )
        : (a, b) => destinationValue(b, sort) - destinationValue(a, sort);
    destinationOrder.set(sort, c);
  }
  return c;
}

function serviceCompare(sort: Exclude<SortColumn, 'table'>): Compare<RatedService> {
  let c = serviceOrder.get(sort);
  if (!c) {
    c =
      sort === 'address'
        ? (a, b) => serviceLabel(a).localeCompare(serviceLabel(b))
        : (a, b) => serviceValue(b, sort) - serviceValue(a, sort);
    serviceOrder.set(sort, c);
  }
  return c;
}

/**
 * Services then their servers, both sorted by the column (largest first; addresses ascending;
 * "table" keeps ipvsadm's order). Sorting is stable, so ties keep ipvsadm's order too.
 */
export function buildRows(snapshot: RatedSnapshot | null, sort: SortColumn): Row[] {
  if (!snapshot) return [];
  let services = snapshot.services;
  const byDest = sort === 'table' ? null : destinationCompare(sort);
  if (sort !== 'table') services = services.slice().sort(serviceCompare(sort));
  const rows: Row[] = [];
  for (const service of services) {
    rows.push({ kind: 'service', key: service.key, service });
    const list = byDest ? service.destinations.slice().sort(byDest) : service.destinations;
    for (const destination of list) {
      rows.push({ kind: 'destination', key: destination.key, service, destination });
    }
  }
  return rows;
}

/** Keep the selection on the same row (by key) when rows change; the view follows it. */
function withSelection(state: MonitorState, index: number): MonitorState {
  const count = state.rows.length;
  const selected = count === 0 ? 0 : Math.max(0, Math.min(count - 1, index));
  let top = state.top;
  if (selected < top) top = selected;
  if (selected >= top + state.viewport) top = selected - state.viewport + 1;
  top = Math.max(0, Math.min(top, Math.max(0, count - state.viewport)));
  return { ...state, selected, top, selectedKey: state.rows[selected]?.key ?? null };
}

function reselect(state: MonitorState): MonitorState {
  const key = state.selectedKey;
  // Usually the selected row is still where it was: no search through a thousand rows.
  const byKey =
    key === null
      ? -1
      : state.rows[state.selected]?.key === key
        ? state.selected
        : state.rows.findIndex((r) => r.key === key);
  return withSelection(state, byKey >= 0 ? byKey : state.selected);
}

export function selectedRow(state: MonitorState): Row | undefined {
  return state.rows[state.selected];
}

function findDestination(
  state: MonitorState,
  key: string,
): { service: RatedService; destination: RatedDestination } | null {
  for (const service of state.snapshot?.services ?? []) {
    const destination = service.destinations.find((d) => d.key === key);
    if (destination) return { service, destination };
  }
  return null;
}

const name = (d: RatedDestination) => hostPort(d.address, d.port, d.family);

function haNote(state: MonitorState): string {
  return state.snapshot?.director.keepalived
    ? ' keepalived is running here and may put its own weight back at its next check.'
    : '';
}

function info(state: MonitorState, text: string, tone: Message['tone'] = 'info'): MonitorState {
  return { ...state, message: { text, tone } };
}

/** The selected real server, or a message saying why an action cannot start. */
function actionTarget(
  state: MonitorState,
): { service: RatedService; destination: RatedDestination } | MonitorState {
  if (state.readOnly)
    return info(
      state,
      'Read-only: this monitor was started without a way to apply changes.',
      'warn',
    );
  if (state.request) return info(state, 'Waiting for the previous change to finish…', 'warn');
  const row = selectedRow(state);
  if (!row || row.kind !== 'destination') {
    return info(state, 'Select a real server first (↑/↓).', 'warn');
  }
  return { service: row.service, destination: row.destination };
}

function request(
  state: MonitorState,
  actions: Action[],
  description: string,
  success: string,
): MonitorState {
  return {
    ...state,
    mode: { kind: 'browse' },
    request: { id: state.nextRequestId, actions, description, success },
    nextRequestId: state.nextRequestId + 1,
    message: { text: `${description}…`, tone: 'info' },
  };
}

function confirm(state: MonitorState): MonitorState {
  const mode = state.mode;
  if (mode.kind === 'confirm-zero') {
    return request(
      state,
      zeroCountersActions(),
      'Zero the counters of all virtual services (ipvsadm -Z)',
      'Counters zeroed; rates restart from the next reading.',
    );
  }
  if (mode.kind !== 'confirm-drain' && mode.kind !== 'weight') return state;
  const found = findDestination(state, mode.destKey);
  if (!found)
    return {
      ...info(state, 'That real server is no longer in the table.', 'warn'),
      mode: { kind: 'browse' },
    };
  const { service, destination } = found;
  const label = serviceLabel(service);
  if (mode.kind === 'confirm-drain') {
    const actions = drainActions(
      service,
      destination,
      destination.weight,
      state.snapshot?.expireQuiescentTemplate ?? null,
    );
    return request(
      state,
      actions,
      `Drain ${name(destination)} in ${label} (weight ${destination.weight} → 0)`,
      `${name(destination)} drained: no new connections; established ones finish.${haNote(state)}`,
    );
  }
  const weight = mode.text === '' ? Number.NaN : Number(mode.text);
  if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
    return info(state, `Type a weight from 0 to ${MAX_WEIGHT}, then Enter (Esc cancels).`, 'warn');
  }
  if (weight === destination.weight) {
    return {
      ...info(state, `${name(destination)} already has weight ${weight}.`),
      mode: { kind: 'browse' },
    };
  }
  return request(
    state,
    setWeightActions(service, destination, weight, destination.weight),
    `Set the weight of ${name(destination)} in ${label} to ${weight} (was ${destination.weight})`,
    `${name(destination)} now has weight ${weight}.${haNote(state)}`,
  );
}

/**
 * A reading that would change nothing on screen but its clock: the last one re-dated (the same
 * services, counters, director and warnings; see Snapshot). The live screen does not draw it, so
 * an idle director costs no frame between two counter readings, and the clock shows when the
 * director last changed or its counters were last read (every 2 s).
 */
export function sampleChangesNothing(state: MonitorState, snapshot: Snapshot): boolean {
  const raw = state.raw;
  return (
    raw !== null &&
    state.snapshot !== null &&
    state.error === null &&
    snapshot.services === raw.services &&
    countersTime(snapshot) === countersTime(raw) &&
    snapshot.director === raw.director &&
    snapshot.warnings === raw.warnings
  );
}

function onSample(state: MonitorState, snapshot: Snapshot): MonitorState {
  // Also checked here, not only before dispatching: the app's check sees the last drawn state,
  // which on a loaded machine can be a reading behind; the same state back draws no frame.
  if (state.paused || sampleChangesNothing(state, snapshot)) return state;
  if (state.raw && state.snapshot && snapshot.services === state.raw.services) {
    const sinceCounters = countersTime(snapshot) - countersTime(state.raw);
    // The last reading again, re-dated (see Snapshot): same rates, rows and history.
    if (sinceCounters === 0) {
      return {
        ...state,
        raw: snapshot,
        snapshot: {
          ...state.snapshot,
          takenAt: snapshot.takenAt,
          director: snapshot.director,
          warnings: snapshot.warnings,
        },
        error: null,
      };
    }
    // The same counters at a later time, when nothing was moving already: the rates stay zero
    // and the rows as they are; the sparklines get their sample (the last one, repeated).
    if (ratesAtRest(state.snapshot)) {
      return {
        ...state,
        raw: snapshot,
        rateBase: state.raw,
        snapshot: {
          ...state.snapshot,
          takenAt: snapshot.takenAt,
          countersAt: snapshot.countersAt,
          director: snapshot.director,
          warnings: snapshot.warnings,
          intervalMs: sinceCounters,
        },
        history: repeatHistory(state.history),
        error: null,
      };
    }
  }
  const base = rateBase(state.rateBase, state.raw, snapshot);
  const rated = computeRates(base, snapshot);
  // One sparkline sample per counter reading (a repeat of the last counters adds nothing).
  const newCounters = !state.raw || countersTime(state.raw) !== countersTime(snapshot);
  // Copied only when a server is seen for the first time (not a thousand keys every second).
  let originalWeights = state.originalWeights;
  // A loop, not forEach with a callback made anew each reading (see source/monitor/rates.ts, shares).
  for (let i = 0; i < snapshot.services.length; i++) {
    const s = snapshot.services[i] as ServiceSnapshot;
    // The same list of servers as in the last reading (SnapshotReuse): already looked at.
    if (state.raw?.services[i]?.destinations === s.destinations) continue;
    for (const d of s.destinations) {
      if (d.weight > 0 && !(d.key in originalWeights)) {
        if (originalWeights === state.originalWeights) originalWeights = { ...originalWeights };
        originalWeights[d.key] = d.weight;
      }
    }
  }
  const next: MonitorState = {
    ...state,
    raw: snapshot,
    rateBase: base,
    snapshot: rated,
    history: newCounters ? pushHistory(state.history, rated) : state.history,
    rows: buildRows(rated, state.sort),
    originalWeights,
    error: null,
  };
  return reselect(next);
}

/**
 * The viewport is derived here, in the same update as the notes that change the header's height,
 * so no frame is ever taller than the terminal.
 */
export function monitorReducer(state: MonitorState, event: MonitorEvent): MonitorState {
  const next = reduce(state, event);
  if (next.terminalRows === null) return next;
  const viewport = Math.max(1, next.terminalRows - chromeHeight(next));
  return viewport === next.viewport ? next : withSelection({ ...next, viewport }, next.selected);
}

function reduce(state: MonitorState, event: MonitorEvent): MonitorState {
  const mode = state.mode;
  switch (event.type) {
    case 'sample':
      return onSample(state, event.snapshot);
    case 'source-error':
      return { ...state, error: event.message };
    case 'resize':
      return withSelection({ ...state, viewport: Math.max(1, event.viewport) }, state.selected);
    case 'terminal': {
      const rows = Math.max(1, event.rows);
      // The same size back (the app reports it once at mount): the same state, so no frame.
      return rows === state.terminalRows ? state : { ...state, terminalRows: rows };
    }
    case 'request-done':
      if (state.request?.id !== event.id) return state;
      return { ...state, request: null, message: { text: state.request.success, tone: 'success' } };
    case 'request-failed':
      if (state.request?.id !== event.id) return state;
      return {
        ...state,
        request: null,
        message: { text: `Failed: ${event.message}`, tone: 'error' },
      };
    case 'quit':
      return { ...state, quit: true };
    case 'key': {
      const mapped = keyToEvent(event.input, event.key, state.mode);
      return mapped ? reduce(state, mapped) : state;
    }
    default:
      break;
  }

  if (mode.kind === 'help') {
    return event.type === 'toggle-help' || event.type === 'cancel' || event.type === 'confirm'
      ? { ...state, mode: { kind: 'browse' } }
      : state;
  }
  if (mode.kind === 'confirm-drain' || mode.kind === 'confirm-zero') {
    if (event.type === 'confirm') return confirm(state);
    if (event.type === 'cancel')
      return { ...state, mode: { kind: 'browse' }, message: { text: 'Cancelled.', tone: 'info' } };
    return state;
  }
  if (mode.kind === 'weight') {
    if (event.type === 'text') {
      const text = (mode.text + event.text.replace(/\D/g, '')).slice(0, 5);
      return { ...state, mode: { ...mode, text } };
    }
    if (event.type === 'backspace')
      return { ...state, mode: { ...mode, text: mode.text.slice(0, -1) } };
    if (event.type === 'confirm') return confirm(state);
    if (event.type === 'cancel')
      return { ...state, mode: { kind: 'browse' }, message: { text: 'Cancelled.', tone: 'info' } };
    return state;
  }

  switch (event.type) {
    case 'move':
      return withSelection(state, state.selected + event.delta);
    case 'move-to':
      return withSelection(state, event.where === 'first' ? 0 : state.rows.length - 1);
    case 'page':
      return withSelection(
        state,
        state.selected + event.direction * Math.max(1, state.viewport - 1),
      );
    case 'cycle-sort': {
      const sort =
        SORT_COLUMNS[(SORT_COLUMNS.indexOf(state.sort) + 1) % SORT_COLUMNS.length] ?? 'table';
      return reselect({
        ...state,
        sort,
        rows: buildRows(state.snapshot, sort),
        message: { text: `Sorted by ${SORT_LABELS[sort]}.`, tone: 'info' },
      });
    }
    case 'toggle-pause':
      return {
        ...state,
        paused: !state.paused,
        message: { text: state.paused ? 'Resumed.' : 'Paused: press p to resume.', tone: 'info' },
      };
    case 'toggle-help':
      return { ...state, mode: { kind: 'help' } };
    case 'drain': {
      const t = actionTarget(state);
      if (!('destination' in t)) return t;
      if (t.destination.weight === 0)
        return info(state, `${name(t.destination)} is already drained (weight 0).`);
      return {
        ...state,
        mode: { kind: 'confirm-drain', destKey: t.destination.key },
        message: null,
      };
    }
    case 'restore': {
      const t = actionTarget(state);
      if (!('destination' in t)) return t;
      const key = t.destination.key;
      const weight = state.labWeights[key] ?? state.originalWeights[key];
      if (weight === undefined) {
        return info(
          state,
          `No known weight for ${name(t.destination)}: press w to set one.`,
          'warn',
        );
      }
      if (weight === t.destination.weight)
        return info(state, `${name(t.destination)} already has its weight (${weight}).`);
      return request(
        state,
        restoreActions(t.service, t.destination, weight, t.destination.weight),
        `Restore the weight of ${name(t.destination)} in ${serviceLabel(t.service)} to ${weight} (was ${t.destination.weight})`,
        `${name(t.destination)} restored to weight ${weight}.${haNote(state)}`,
      );
    }
    case 'weight': {
      const t = actionTarget(state);
      if (!('destination' in t)) return t;
      return {
        ...state,
        mode: { kind: 'weight', destKey: t.destination.key, text: '' },
        message: null,
      };
    }
    case 'zero':
      if (state.readOnly)
        return info(
          state,
          'Read-only: this monitor was started without a way to apply changes.',
          'warn',
        );
      if (state.request) return info(state, 'Waiting for the previous change to finish…', 'warn');
      return { ...state, mode: { kind: 'confirm-zero' }, message: null };
    default:
      return state;
  }
}

/** The question (first line, with its keys) and what it will do (second line), or null. */
export function promptText(state: MonitorState): { line: string; detail: string } | null {
  const mode = state.mode;
  if (mode.kind === 'confirm-zero') {
    return {
      line: 'Zero the traffic counters of all virtual services (ipvsadm -Z)? y/n',
      detail: 'Counters cannot be put back; rates restart from the next reading.',
    };
  }
  if (mode.kind !== 'confirm-drain' && mode.kind !== 'weight') return null;
  const found = findDestination(state, mode.destKey);
  const who = found ? `${name(found.destination)} in ${serviceLabel(found.service)}` : mode.destKey;
  const weight = found?.destination.weight ?? '?';
  const ha = haNote(state);
  if (mode.kind === 'confirm-drain') {
    const persistent =
      found && found.service.persistence !== null
        ? ' Persistence templates of weight-0 servers will expire (expire_quiescent_template=1).'
        : '';
    return {
      line: `Drain ${who} (weight ${weight} → 0)? y/n`,
      detail: `New connections go to the other servers; established ones finish.${persistent}${ha}`,
    };
  }
  return {
    line: `New weight for ${who} (now ${weight}, 0-${MAX_WEIGHT}): ${mode.text}▏`,
    detail: `Enter applies, Esc cancels.${ha}`,
  };
}

/** Keys to events, by mode (a digit is a weight in the weight prompt, nothing elsewhere). */
export function keyToEvent(input: string, key: KeyLike, mode: Mode): MonitorEvent | null {
  if (mode.kind === 'weight') {
    if (key.return) return { type: 'confirm' };
    if (key.escape) return { type: 'cancel' };
    if (key.backspace || key.delete) return { type: 'backspace' };
    if (/^\d+$/.test(input)) return { type: 'text', text: input };
    return null;
  }
  if (mode.kind === 'confirm-drain' || mode.kind === 'confirm-zero') {
    if (key.return || input === 'y' || input === 'Y') return { type: 'confirm' };
    if (key.escape || input === 'n' || input === 'N') return { type: 'cancel' };
    return null;
  }
  if (mode.kind === 'help') {
    if (input === 'q') return { type: 'quit' };
    if (input === '?' || key.escape || key.return) return { type: 'toggle-help' };
    return null;
  }
  if (key.upArrow || input === 'k') return { type: 'move', delta: -1 };
  if (key.downArrow || input === 'j') return { type: 'move', delta: 1 };
  if (key.pageUp) return { type: 'page', direction: -1 };
  if (key.pageDown || input === ' ') return { type: 'page', direction: 1 };
  if (key.home || input === 'g') return { type: 'move-to', where: 'first' };
  if (key.end || input === 'G') return { type: 'move-to', where: 'last' };
  switch (input) {
    case 's':
      return { type: 'cycle-sort' };
    case 'p':
      return { type: 'toggle-pause' };
    case '?':
      return { type: 'toggle-help' };
    case 'q':
      return { type: 'quit' };
    case 'd':
      return { type: 'drain' };
    case 'r':
      return { type: 'restore' };
    case 'w':
      return { type: 'weight' };
    case 'z':
      return { type: 'zero' };
    default:
      return null;
  }
}
