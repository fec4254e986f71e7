import { Box, Text } from 'ink';
import { useMemo } from 'react';
import { historyOf, TOTAL_KEY } from '../../source/monitor/rates.js';
import { formatBytes, formatClock, formatCount, formatInterval, sparkline } from './format.js';
import { FixedBlock, type BlockLine } from './fixed-line.js';
import { headerLine, healthText, layoutColumns, notes, rowText, type Column } from './layout.js';
import { promptText, SORT_LABELS, type MonitorState } from './reducer.js';

/** The monitor as a pure view of its state (no effects), so it also renders to a string. */

export interface MonitorViewProps {
  state: MonitorState;
  columns: number;
  exact: boolean;
  intervalMs: number;
  /** Selection marker, prompt and key lines; off for a one-shot print. */
  interactive?: boolean;
}

const VRRP_COLORS: Record<string, string> = {
  MASTER: 'green',
  BACKUP: 'yellow',
  none: 'gray',
  unknown: 'gray',
};

function headerLines(state: MonitorState, intervalMs: number, exact: boolean): BlockLine[] {
  const snap = state.snapshot;
  if (!snap) {
    return [
      {
        segments: [
          { text: 'lvs-setup monitor', bold: true },
          { text: ` every ${formatInterval(intervalMs)}` },
        ],
      },
      { dimColor: true, segments: [{ text: 'Waiting for the first reading…' }] },
    ];
  }
  const servers = snap.services.reduce((n, s) => n + s.destinations.length, 0);
  const t = snap.totals;
  const r = snap.totalRates;
  const per = (n: number | undefined) => (n === undefined ? '-' : `${formatCount(n, exact)}/s`);
  const perBytes = (n: number | undefined) =>
    n === undefined ? '-' : `${formatBytes(n, exact)}/s`;
  const spark = sparkline(historyOf(state.history, TOTAL_KEY), 12).trimStart();
  const director = snap.director;
  return [
    {
      segments: [
        { text: 'lvs-setup monitor', bold: true },
        { text: state.paused ? ' [paused]' : '', color: 'yellow' },
        {
          text: ` ${snap.host} ${formatClock(snap.takenAt)} every ${formatInterval(intervalMs)}  VRRP `,
        },
        { text: director.vrrp, color: VRRP_COLORS[director.vrrp] ?? 'gray' },
        {
          text: `${director.keepalived ? ' (keepalived)' : ''}  ${snap.services.length} services, ${servers} real servers${snap.source === 'demo' ? '  [demo]' : ''}`,
        },
      ],
    },
    {
      segments: [
        {
          text:
            `Total conns ${formatCount(t?.conns, exact)} ${per(r?.cps)}` +
            `  in ${formatCount(t?.inPkts, exact)} pkts ${per(r?.inPps)} ${formatBytes(t?.inBytes, exact)} ${perBytes(r?.inBps)}` +
            `  out ${formatCount(t?.outPkts, exact)} pkts ${per(r?.outPps)} ${formatBytes(t?.outBytes, exact)} ${perBytes(r?.outBps)}` +
            (spark ? `  ${spark}` : ''),
        },
      ],
    },
  ];
}

/**
 * The table's lines: its header and the rows that fit (a table of thousands costs a slice),
 * the same array again when none of what they show changed.
 */
function useTableLines(
  state: MonitorState,
  cols: readonly Column[],
  exact: boolean,
  interactive: boolean,
): BlockLine[] {
  const { rows, top, viewport, selected, history, snapshot } = state;
  return useMemo(() => {
    const lines: BlockLine[] = [{ underline: true, segments: [{ text: headerLine(cols) }] }];
    rows.slice(top, top + viewport).forEach((row, i) => {
      const isSelected = interactive && top + i === selected;
      const drained = row.kind === 'destination' && row.destination.weight === 0;
      const down = row.kind === 'destination' && row.destination.health === 'down';
      lines.push({
        inverse: isSelected,
        bold: row.kind === 'service',
        dimColor: drained && !isSelected,
        segments: [
          {
            text: `${isSelected ? '› ' : '  '}${rowText(row, cols, exact, historyOf(history, row.key))}`,
          },
          { text: healthText(row, cols), color: down ? 'red' : 'green' },
        ],
      });
    });
    if (snapshot && rows.length === 0)
      lines.push({
        dimColor: true,
        segments: [{ text: 'No virtual services (ipvsadm -Ln is empty).' }],
      });
    return lines;
  }, [rows, top, viewport, selected, history, snapshot, cols, exact, interactive]);
}

const HELP: [string, string][] = [
  ['↑/↓ k/j, PgUp/PgDn, g/G', 'select a row; the table scrolls'],
  ['s', 'sort by the next column (CPS, connections, weight, traffic, address, ipvsadm order)'],
  ['p', 'pause or resume reading'],
  ['d', 'drain the selected real server: weight 0, asks y/n; established connections finish'],
  ['r', 'restore its weight (the lab file, or the weight first seen)'],
  ['w', 'type a new weight (0-65535), Enter applies'],
  ['z', 'zero all counters (ipvsadm -Z), asks y/n'],
  ['q', 'quit'],
];

function Help({ rows }: { rows: number }) {
  const lines = [
    'Keys',
    ...HELP.map(([k, v]) => `  ${k.padEnd(26)} ${v}`),
    '',
    'Changes run through lvs-setup (logged and journaled, `ipvsadm -e … -w N` with the server’s own',
    'forwarding flag). On an HA director keepalived owns the table and may set weights back.',
    'Share: the server’s part of the service’s new connections. CPS: new connections per second.',
    'IPVS updates its traffic counters every 2 s: rates and sparklines move at that pace.',
    'Press ? or Esc to return.',
  ];
  return (
    <>
      {lines.slice(0, Math.max(1, rows)).map((l, i) => (
        <Text key={i} wrap="truncate" bold={i === 0}>
          {l}
        </Text>
      ))}
    </>
  );
}

function footerLines(state: MonitorState): BlockLine[] {
  const prompt = promptText(state);
  const msg = state.message;
  const toneColor =
    msg?.tone === 'error'
      ? 'red'
      : msg?.tone === 'warn'
        ? 'yellow'
        : msg?.tone === 'success'
          ? 'green'
          : undefined;
  const changes = state.readOnly ? '' : '  d drain  r restore  w weight  z zero';
  const keys = `${state.readOnly ? '[read-only]  ' : ''}↑↓ select  s sort (${SORT_LABELS[state.sort]})  p ${state.paused ? 'resume' : 'pause'}${changes}  ? help  q quit`;
  return [
    prompt
      ? { bold: true, color: 'cyan', segments: [{ text: prompt.line }] }
      : { color: toneColor, segments: [{ text: msg?.text ?? ' ' }] },
    { dimColor: true, segments: [{ text: prompt ? prompt.detail : keys }] },
  ];
}

export function MonitorView({
  state,
  columns,
  exact,
  intervalMs,
  interactive = true,
}: MonitorViewProps) {
  const cols = useMemo(
    () => layoutColumns(columns, exact, state.sort),
    [columns, exact, state.sort],
  );
  const table = useTableLines(state, cols, exact, interactive);
  // The whole screen but the help text is one FixedBlock: a handful of Ink nodes per frame.
  const top: BlockLine[] = [
    ...headerLines(state, intervalMs, exact),
    ...notes(state).map((n) => ({
      color: n.tone === 'error' ? 'red' : n.tone === 'warn' ? 'yellow' : undefined,
      dimColor: n.tone === 'note',
      segments: [{ text: n.text }],
    })),
  ];
  const footer = interactive ? footerLines(state) : [];
  return (
    <Box flexDirection="column" width={columns}>
      {state.mode.kind === 'help' ? (
        <>
          <FixedBlock lines={top} width={columns} />
          <Help rows={state.viewport + 1} />
          <FixedBlock lines={footer} width={columns} />
        </>
      ) : (
        <FixedBlock lines={[...top, ...table, ...footer]} width={columns} />
      )}
    </Box>
  );
}
