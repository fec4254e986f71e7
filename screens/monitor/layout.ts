import {
  forwardMode,
  hasBypassReplies,
  hostPort,
  serviceLabel,
} from '../../source/monitor/model.js';
import type { RatedDestination, RatedService, RatedSnapshot } from '../../source/monitor/rates.js';
import { fit, formatBytes, formatCount, shareBar, sparkline } from './format.js';
import type { MonitorState, Row, SortColumn } from './reducer.js';

/**
 * Which columns fit the terminal and each row as one preformatted string: a row is a single Ink
 * <Text>, which keeps a frame of a hundred rows cheap (a <Box> per cell would not be).
 */

export type ColumnId =
  | 'address'
  | 'fwd'
  | 'weight'
  | 'active'
  | 'inactive'
  | 'cps'
  | 'inPps'
  | 'outPps'
  | 'inBps'
  | 'outBps'
  | 'share'
  | 'spark'
  | 'health';

export interface Column {
  id: ColumnId;
  title: string;
  width: number;
  align: 'left' | 'right';
}

const DISPLAY_ORDER: ColumnId[] = [
  'address',
  'fwd',
  'weight',
  'active',
  'inactive',
  'cps',
  'inPps',
  'outPps',
  'inBps',
  'outBps',
  'share',
  'spark',
  'health',
];

/** What stays when the terminal is narrow, most important first. */
const PRIORITY: ColumnId[] = [
  'address',
  'fwd',
  'weight',
  'active',
  'inactive',
  'cps',
  'share',
  'spark',
  'inBps',
  'outBps',
  'health',
  'inPps',
  'outPps',
];

const TITLES: Record<ColumnId, string> = {
  address: 'Service / real server',
  fwd: 'Fwd',
  weight: 'Weight',
  active: 'Active',
  inactive: 'InAct',
  cps: 'CPS',
  inPps: 'InPPS',
  outPps: 'OutPPS',
  inBps: 'InB/s',
  outBps: 'OutB/s',
  share: 'Share',
  spark: 'CPS, last 60',
  health: 'Health',
};

const SORTED_BY: Partial<Record<SortColumn, ColumnId>> = {
  cps: 'cps',
  active: 'active',
  inactive: 'inactive',
  weight: 'weight',
  inPps: 'inPps',
  outPps: 'outPps',
  inBps: 'inBps',
  outBps: 'outBps',
  address: 'address',
};

/** Room for the selection marker before the first column. */
export const MARKER_WIDTH = 2;
const SPARK_MIN = 10;
const SPARK_MAX = 60;

function baseWidth(id: ColumnId, exact: boolean): number {
  switch (id) {
    case 'address':
      return 26;
    case 'fwd':
      return 6;
    case 'weight':
      return 6;
    case 'share':
      return 10;
    case 'spark':
      return SPARK_MIN;
    case 'health':
      return 6;
    case 'inBps':
    case 'outBps':
      return exact ? 13 : 8;
    default:
      return exact ? 10 : 7;
  }
}

export function layoutColumns(
  columns: number,
  exact: boolean,
  sort: SortColumn = 'table',
): Column[] {
  const chosen = new Set<ColumnId>();
  let used = MARKER_WIDTH;
  for (const id of PRIORITY) {
    const w = baseWidth(id, exact) + (chosen.size > 0 ? 1 : 0);
    if (used + w > columns) continue;
    chosen.add(id);
    used += w;
  }
  const spark = chosen.has('spark') ? Math.min(SPARK_MAX, SPARK_MIN + (columns - used)) : 0;
  const sortedBy = SORTED_BY[sort];
  return DISPLAY_ORDER.filter((id) => chosen.has(id)).map((id) => {
    const title = TITLES[id] + (id === sortedBy ? (id === 'address' ? '▲' : '▼') : '');
    return {
      id,
      title,
      width: id === 'spark' ? spark : baseWidth(id, exact),
      align:
        id === 'address' || id === 'fwd' || id === 'spark' || id === 'share' || id === 'health'
          ? 'left'
          : 'right',
    };
  });
}

export function headerLine(cols: readonly Column[]): string {
  return ' '.repeat(MARKER_WIDTH) + cols.map((c) => fit(c.title, c.width, c.align)).join(' ');
}

function serviceTitle(s: RatedService): string {
  const modes = [...new Set(s.destinations.map((d) => forwardMode(d.forward)))].join('/');
  const persistent = s.persistence !== null ? ` persist ${s.persistence}s` : '';
  const flags = s.flags.length > 0 ? ` ${s.flags.join(',')}` : '';
  return `${serviceLabel(s)} ${s.scheduler}${persistent}${flags}${modes ? ` ${modes}` : ''}`;
}

function cell(
  id: ColumnId,
  row: Row,
  exact: boolean,
  width: number,
  history: readonly number[] | undefined,
): string {
  if (row.kind === 'service') {
    const s = row.service;
    const r = s.rates;
    switch (id) {
      case 'active':
        return formatCount(
          s.destinations.reduce((n, d) => n + d.activeConns, 0),
          exact,
        );
      case 'inactive':
        return formatCount(
          s.destinations.reduce((n, d) => n + d.inactiveConns, 0),
          exact,
        );
      case 'cps':
        return formatCount(r?.cps, exact);
      case 'inPps':
        return formatCount(r?.inPps, exact);
      case 'outPps':
        return formatCount(r?.outPps, exact);
      case 'inBps':
        return formatBytes(r?.inBps, exact);
      case 'outBps':
        return formatBytes(r?.outBps, exact);
      case 'spark':
        return sparkline(history ?? [], width);
      default:
        return '';
    }
  }
  const d: RatedDestination = row.destination;
  const r = d.rates;
  switch (id) {
    case 'address':
      return `  ${hostPort(d.address, d.port, d.family)}`;
    case 'fwd':
      return forwardMode(d.forward);
    case 'weight':
      return String(d.weight);
    case 'active':
      return formatCount(d.activeConns, exact);
    case 'inactive':
      return formatCount(d.inactiveConns, exact);
    case 'cps':
      return formatCount(r?.cps, exact);
    case 'inPps':
      return formatCount(r?.inPps, exact);
    case 'outPps':
      return formatCount(r?.outPps, exact);
    case 'inBps':
      return formatBytes(r?.inBps, exact);
    case 'outBps':
      return formatBytes(r?.outBps, exact);
    case 'share':
      return shareBar(d.share, width - 4) + `${Math.round(d.share * 100)}`.padStart(4);
    case 'spark':
      return sparkline(history ?? [], width);
    case 'health':
      return d.health ?? '';
  }
}

/**
 * One row as text, without the health column (drawn apart so it can be coloured). A service row
 * spreads its title over the address, forward and weight columns.
 */
export function rowText(
  row: Row,
  cols: readonly Column[],
  exact: boolean,
  history: readonly number[] | undefined,
): string {
  const parts: string[] = [];
  let i = 0;
  if (row.kind === 'service') {
    let span = 0;
    while (i < cols.length && ['address', 'fwd', 'weight'].includes(cols[i]?.id ?? '')) {
      span += (cols[i]?.width ?? 0) + (span > 0 ? 1 : 0);
      i++;
    }
    parts.push(fit(serviceTitle(row.service), span));
  }
  for (; i < cols.length; i++) {
    const c = cols[i];
    if (!c || c.id === 'health') continue;
    parts.push(fit(cell(c.id, row, exact, c.width, history), c.width, c.align));
  }
  return parts.join(' ');
}

export function healthText(row: Row, cols: readonly Column[]): string {
  const c = cols.find((x) => x.id === 'health');
  if (!c || row.kind !== 'destination') return '';
  return ` ${fit(row.destination.health ?? '', c.width)}`;
}

/** Lines above the table that explain the numbers or warn; the viewport depends on their count. */
export function notes(
  state: Pick<MonitorState, 'snapshot' | 'error'>,
): { text: string; tone: 'note' | 'warn' | 'error' }[] {
  const out: { text: string; tone: 'note' | 'warn' | 'error' }[] = [];
  const snap: RatedSnapshot | null = state.snapshot;
  if (state.error) out.push({ text: state.error, tone: 'error' });
  if (!snap) return out;
  if (hasBypassReplies(snap.services)) {
    out.push({
      text: 'OutPkts/OutBytes are 0 in DR and TUN: replies bypass the director.',
      tone: 'note',
    });
  }
  if (snap.director.keepalived) {
    out.push({
      text: 'keepalived is running: it may override manual weight changes (its health checks set weights back).',
      tone: 'warn',
    });
  }
  for (const w of snap.warnings) out.push({ text: w, tone: 'warn' });
  return out;
}

/** Header (2) + notes + column titles (1) + footer (2), and one spare line so Ink never scrolls. */
export function chromeHeight(state: Pick<MonitorState, 'snapshot' | 'error'>): number {
  return 2 + notes(state).length + 1 + 2 + 1;
}
