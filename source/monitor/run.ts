import { createElement } from 'react';
import type { Machine } from '../boundary.js';
import type { Action } from '../plan/step.js';
import { findIpvsRead, ipvsadmReader, netlinkReader, withFallback } from './counter-reader.js';
import { snapshotToJson } from './json.js';
import { printedSource } from './printed-source.js';
import type { Snapshot } from './model.js';
import { computeRates, rateBase } from './rates.js';
import {
  checkIpvsAvailable,
  createDemoSource,
  createIpvsSource,
  type MonitorSource,
} from './sources.js';

/**
 * `lvs-setup monitor`: pick the source (the kernel through the Machine, or the demo), then either
 * print one snapshot (--once, --json) or run the interactive screen. The screen (Ink) is loaded
 * only when it is drawn, so scripts using --json never load it.
 */

export type OnMonitorAction = (actions: Action[], description: string) => Promise<void>;

interface Writable {
  write(text: string): unknown;
  columns?: number;
}

export interface RunMonitorOptions {
  machine: Machine | null;
  demo: boolean;
  once: boolean;
  json: boolean;
  exact: boolean;
  intervalMs: number;
  /** The core's executor; without it the screen only watches (the demo applies changes itself). */
  onAction?: OnMonitorAction;
  /** Lab file weights by destination key ("tcp:192.168.91.148:80>192.168.91.146:80"), for `r`. */
  labWeights?: Record<string, number>;
  /** The lab file's VIPs, to tell MASTER from BACKUP even before services exist. */
  vips?: string[];
  /** Demo seed (default 1). */
  seed?: number;
  /**
   * With demo: a generated table of this size instead of the lab, read through the parsers as a
   * real director is (printed-source.ts). For measuring the monitor at scale: LVS_SETUP_DEMO_SCALE.
   */
  demoScale?: { services: number; serversPerService: number };
  /** Seams for tests. */
  source?: MonitorSource;
  stdout?: Writable;
  stderr?: Writable;
  stdin?: { isTTY?: boolean };
  sleep?: (ms: number) => Promise<void>;
  /** Stops `--json` streaming (without --once); SIGINT/SIGTERM do it otherwise. */
  signal?: AbortSignal;
}

const MIN_INTERVAL_MS = 100;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Two readings one interval apart (at least the source's counter period, so the second brings
 * new counters), so rates are measured rather than estimated.
 */
async function twoReadings(
  source: MonitorSource,
  intervalMs: number,
  sleep: (ms: number) => Promise<void>,
): Promise<[Snapshot, Snapshot]> {
  const first = await source.read();
  await sleep(Math.max(intervalMs, source.countersPeriodMs ?? 0));
  return [first, await source.read()];
}

async function measure(
  source: MonitorSource,
  intervalMs: number,
  sleep: (ms: number) => Promise<void>,
) {
  const [first, second] = await twoReadings(source, intervalMs, sleep);
  return computeRates(first, second);
}

async function printText(
  source: MonitorSource,
  options: RunMonitorOptions,
  out: Writable,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const [first, second] = await twoReadings(source, options.intervalMs, sleep);
  const [{ renderToString }, { MonitorView }, reducer] = await Promise.all([
    import('ink'),
    import('../../screens/monitor/monitor-view.js'),
    import('../../screens/monitor/reducer.js'),
  ]);
  const columns = out.columns ?? 120;
  // The reducer computes the rates from the two readings, as the live screen does; then every
  // row is shown, since nothing scrolls on paper.
  let state = reducer.initialState({ readOnly: true });
  state = reducer.monitorReducer(state, { type: 'sample', snapshot: first });
  state = reducer.monitorReducer(state, { type: 'sample', snapshot: second });
  state = reducer.monitorReducer(state, {
    type: 'resize',
    viewport: Math.max(1, state.rows.length),
  });
  const text = renderToString(
    createElement(MonitorView, {
      state,
      columns,
      exact: options.exact,
      intervalMs: options.intervalMs,
      interactive: false,
    }),
    { columns },
  );
  out.write(`${text}\n`);
}

async function streamJson(
  source: MonitorSource,
  options: RunMonitorOptions,
  out: Writable,
  sleep: (ms: number) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  options.signal?.addEventListener('abort', stop);
  if (!options.signal) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  try {
    let latest = await source.read();
    let base: Snapshot | null = null;
    while (!controller.signal.aborted) {
      await sleep(options.intervalMs);
      if (controller.signal.aborted) break;
      const next = await source.read();
      base = rateBase(base, latest, next);
      out.write(`${JSON.stringify(snapshotToJson(computeRates(base, next)))}\n`);
      latest = next;
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

/**
 * Returns the exit code: 0 done, 1 cannot read IPVS (the message suggests --demo), 2 wrong use
 * (no terminal for the interactive screen, a bad interval).
 */
export async function runMonitor(options: RunMonitorOptions): Promise<number> {
  const out: Writable = options.stdout ?? process.stdout;
  const err: Writable = options.stderr ?? process.stderr;
  const sleep = options.sleep ?? defaultSleep;
  if (!Number.isFinite(options.intervalMs) || options.intervalMs < MIN_INTERVAL_MS) {
    err.write(
      `The refresh interval must be at least ${MIN_INTERVAL_MS} ms (got ${options.intervalMs}).\n`,
    );
    return 2;
  }
  const interactive = !options.once && !options.json;
  const stdin = options.stdin ?? process.stdin;
  // Checked before anything is read: Ink cannot take keys without a terminal.
  if (interactive && !stdin.isTTY) {
    err.write(
      'lvs-setup monitor is interactive and needs a terminal (stdin is not a TTY).\n' +
        'For scripts and pipes, print one snapshot instead: lvs-setup monitor --once --json\n',
    );
    return 2;
  }

  let source: MonitorSource;
  let onAction = options.onAction;
  if (options.source) {
    source = options.source;
  } else if (options.demo) {
    // Ticks no longer than the interval, so every reading has fresh traffic.
    const demo = createDemoSource({
      seed: options.seed ?? 1,
      tickMs: Math.min(1000, options.intervalMs),
      ...(options.demoScale ? { scale: options.demoScale } : {}),
    });
    source = options.demoScale ? printedSource(demo) : demo;
    // A simulated director has no executor: changes go to the simulation (nothing touches the host).
    onAction = (actions) => demo.apply(actions);
  } else {
    if (!options.machine) {
      err.write(
        'Cannot monitor IPVS: no machine to read.\nTo see the monitor anyway: lvs-setup monitor --demo\n',
      );
      return 1;
    }
    const available = await checkIpvsAvailable(options.machine);
    if (!available.ok) {
      err.write(`${available.message}\n`);
      return 1;
    }
    // The servers' counters over netlink where the helper was built for this machine, else (or
    // when it cannot read: see withFallback) from ipvsadm as before.
    const machine = options.machine;
    const helper = findIpvsRead((name) => machine.env(name));
    const counters = helper
      ? withFallback(netlinkReader(helper), ipvsadmReader(machine))
      : ipvsadmReader(machine);
    source = createIpvsSource(machine, {
      ...(options.vips ? { vips: options.vips } : {}),
      counters,
    });
  }
  try {
    return await runWithSource(source, options, onAction, out, err, sleep);
  } finally {
    source.close?.();
  }
}

/** The line shown until the monitor's first frame, and what erases it (CR, erase the line). */
const READING_NOTICE = 'lvs-setup monitor: reading IPVS…';
const ERASE_NOTICE = '\r\u001b[2K';

async function runWithSource(
  source: MonitorSource,
  options: RunMonitorOptions,
  onAction: OnMonitorAction | undefined,
  out: Writable,
  err: Writable,
  sleep: (ms: number) => Promise<void>,
): Promise<number> {
  try {
    if (options.json && !options.once) {
      await streamJson(source, options, out, sleep);
      return 0;
    }
    if (options.once && options.json) {
      const rated = await measure(source, options.intervalMs, sleep);
      out.write(`${JSON.stringify(snapshotToJson(rated), null, 2)}\n`);
      return 0;
    }
    if (options.once) {
      await printText(source, options, out, sleep);
      return 0;
    }
  } catch (error) {
    err.write(`${message(error)}\n`);
    return 1;
  }

  // The first reading runs while Ink loads, and the first frame is the table: one frame fewer
  // than a "reading…" screen first (each costs Ink's layout and output of the whole screen).
  // Meanwhile one plain line says what is happening (a TCG guest takes seconds to get here and
  // more to the first frame); it is erased once the reading is in, just before Ink draws there.
  const screen = process.stdout;
  if (screen.isTTY) screen.write(READING_NOTICE);
  const first = source.read().then(
    (snapshot) => ({ snapshot }),
    (error: unknown) => ({ error: message(error) }),
  );
  // The monitor draws with the faster, byte-identical output step (screens/ink-fast-output.ts):
  // bench/monitor.ts measures it against Ink's own side by side.
  const [{ render }, { MonitorApp }, { installFastOutput }] = await Promise.all([
    import('ink'),
    import('../../screens/monitor/monitor-app.js'),
    import('../../screens/ink-fast-output.js'),
  ]);
  installFastOutput();
  const firstReading = await first;
  if (screen.isTTY) screen.write(ERASE_NOTICE);
  const props = {
    source,
    first: firstReading,
    intervalMs: options.intervalMs,
    exact: options.exact,
    ...(onAction ? { onAction } : {}),
    ...(options.labWeights ? { labWeights: options.labWeights } : {}),
  };
  // The whole screen each frame: Ink 6.8's incrementalRendering (changed lines only) stacked the
  // frames one below another in tmux (test/e2e/wizard-pty.test.ts).
  const app = render(createElement(MonitorApp, props), { exitOnCtrlC: true });
  await app.waitUntilExit();
  return 0;
}
