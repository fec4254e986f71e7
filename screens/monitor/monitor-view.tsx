import { Box, Text } from 'ink';
import { memo, useMemo } from 'react';
import { historyOf, TOTAL_KEY } from '../../source/monitor/rates.js';
import { formatBytes, formatClock, formatCount, formatInterval, sparkline } from './format.js';
import { FixedLine } from './fixed-line.js';
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

function Header({
  state,
  intervalMs,
  exact,
  columns,
}: {
  state: MonitorState;
  intervalMs: number;
  exact: boolean;
  columns: number;
}) {
  const snap = state.snapshot;
  if (!snap) {
    return (
      <>
        <FixedLine
          width={columns}
          segments={[
            { text: 'lvs-setup monitor', bold: true },
            { text: ` every ${formatInterval(intervalMs)}` },
          ]}
        />
        <FixedLine
          width={columns}
          dimColor
          segments={[{ text: 'Waiting for the first reading…' }]}
        />
      </>
    );
  }
  const servers = snap.services.reduce((n, s) => n + s.destinations.length, 0);
  const t = snap.totals;
  const r = snap.totalRates;
  const per = (n: number | undefined) => (n === undefined ? '-' : `${formatCount(n, exact)}/s`);
  const perBytes = (n: number | undefined) =>
    n === undefined ? '-' : `${formatBytes(n, exact)}/s`;
  const spark = sparkline(historyOf(state.history, TOTAL_KEY), 12).trimStart();
  const director = snap.director;
  return (
    <>
      <FixedLine
        width={columns}
        segments={[
          { text: 'lvs-setup monitor', bold: true },
          { text: state.paused ? ' [paused]' : '', color: 'yellow' },
          {
            text: ` ${snap.host} ${formatClock(snap.takenAt)} every ${formatInterval(intervalMs)}  VRRP `,
          },
          { text: director.vrrp, color: VRRP_COLORS[director.vrrp] ?? 'gray' },
          {
            text: `${director.keepalived ? ' (keepalived)' : ''}  ${snap.services.length} services, ${servers} real servers${snap.source === 'demo' ? '  [demo]' : ''}`,
          },
        ]}
      />
      <FixedLine
        width={columns}
        segments={[
          {
            text:
              `Total conns ${formatCount(t?.conns, exact)} ${per(r?.cps)}` +
              `  in ${formatCount(t?.inPkts, exact)} pkts ${per(r?.inPps)} ${formatBytes(t?.inBytes, exact)} ${perBytes(r?.inBps)}` +
              `  out ${formatCount(t?.outPkts, exact)} pkts ${per(r?.outPps)} ${formatBytes(t?.outBytes, exact)} ${perBytes(r?.outBps)}` +
              (spark ? `  ${spark}` : ''),
          },
        ]}
      />
    </>
  );
}

interface RowLineProps {
  text: string;
  health: string;
  selected: boolean;
  service: boolean;
  drained: boolean;
  down: boolean;
  width: number;
}

/**
 * One table row, drawn from its finished text: memo() skips it (and Ink's work on its nodes)
 * when nothing on it changed, which between two counter readings is every row.
 */
const RowLine = memo(function RowLine({
  text,
  health,
  selected,
  service,
  drained,
  down,
  width,
}: RowLineProps) {
  return (
    <FixedLine
      width={width}
      inverse={selected}
      bold={service}
      dimColor={drained && !selected}
      segments={[
        { text: `${selected ? '› ' : '  '}${text}` },
        { text: health, color: down ? 'red' : 'green' },
      ]}
    />
  );
});

function Table({
  state,
  cols,
  exact,
  interactive,
  columns,
}: {
  state: MonitorState;
  cols: readonly Column[];
  exact: boolean;
  interactive: boolean;
  columns: number;
}) {
  const { rows, top, viewport, selected, history } = state;
  // Only the rows that fit are turned into elements: a table of thousands costs a slice. The
  // same elements again when none of what they show changed (a reading that only moves the clock).
  const lines = useMemo(
    () =>
      rows
        .slice(top, top + viewport)
        .map((row, i) => (
          <RowLine
            key={row.key}
            text={rowText(row, cols, exact, historyOf(history, row.key))}
            health={healthText(row, cols)}
            selected={interactive && top + i === selected}
            service={row.kind === 'service'}
            drained={row.kind === 'destination' && row.destination.weight === 0}
            down={row.kind === 'destination' && row.destination.health === 'down'}
            width={columns}
          />
        )),
    [rows, top, viewport, selected, history, cols, exact, interactive, columns],
  );
  return (
    <>
      <FixedLine width={columns} underline segments={[{ text: headerLine(cols) }]} />
      {lines}
      {state.snapshot && state.rows.length === 0 ? (
        <Text dimColor>No virtual services (ipvsadm -Ln is empty).</Text>
      ) : null}
    </>
  );
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

function Footer({ state, columns }: { state: MonitorState; columns: number }) {
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
  return (
    <>
      {prompt ? (
        <FixedLine width={columns} bold color="cyan" segments={[{ text: prompt.line }]} />
      ) : (
        <FixedLine width={columns} color={toneColor} segments={[{ text: msg?.text ?? ' ' }]} />
      )}
      <FixedLine width={columns} dimColor segments={[{ text: prompt ? prompt.detail : keys }]} />
    </>
  );
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
  const lines = notes(state);
  return (
    <Box flexDirection="column" width={columns}>
      <Header state={state} intervalMs={intervalMs} exact={exact} columns={columns} />
      {lines.map((n, i) => (
        <FixedLine
          key={i}
          width={columns}
          color={n.tone === 'error' ? 'red' : n.tone === 'warn' ? 'yellow' : undefined}
          dimColor={n.tone === 'note'}
          segments={[{ text: n.text }]}
        />
      ))}
      {state.mode.kind === 'help' ? (
        <Help rows={state.viewport + 1} />
      ) : (
        <Table
          state={state}
          cols={cols}
          exact={exact}
          interactive={interactive}
          columns={columns}
        />
      )}
      {interactive ? <Footer state={state} columns={columns} /> : null}
    </Box>
  );
}
