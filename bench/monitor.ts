/**
 * Monitor benchmark: 100 virtual services × 10 real servers. Per frame it does what the live
 * screen does each second on a real director — parse /proc/net/ip_vs, `ipvsadm -Ln --stats
 * --exact` and /proc/net/ip_vs_stats, join them, compute rates and history, rebuild the rows,
 * and render the screen (Ink's renderToString, 160×50) — and reports median and p95 per frame,
 * CPU per frame and peak RSS. The texts are printed by format-ipvsadm.ts from the demo
 * director's table, so the parsers see ipvsadm's real layout.
 *
 * `npx tsx bench/monitor.ts` prints the figures; bench/run.ts calls benchMonitor().
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

export interface BenchMonitorOptions {
  services?: number;
  serversPerService?: number;
  frames?: number;
  warmup?: number;
  columns?: number;
  rows?: number;
}

const sum = (a: readonly number[]) => a.reduce((x, y) => x + y, 0);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

const ms = (n: number) => Math.round(n * 1000) / 1000;

export async function benchMonitor(
  options: BenchMonitorOptions = {},
): Promise<Record<string, number | string>> {
  // React's production build is what the shipped bundle uses (scripts/build.mjs defines it);
  // it only takes effect if React has not been loaded yet in this process.
  process.env.NODE_ENV ??= 'production';
  const services = options.services ?? 100;
  const perService = options.serversPerService ?? 10;
  const frames = options.frames ?? 200;
  const warmup = options.warmup ?? 20;
  const columns = options.columns ?? 160;
  const rows = options.rows ?? 50;

  const [{ createElement }, { renderToString }, demo, fmt, parse, snap, reducer, view] =
    await Promise.all([
      import('react'),
      import('ink'),
      import('../source/monitor/demo.js'),
      import('../source/monitor/format-ipvsadm.js'),
      import('../source/monitor/parse.js'),
      import('../source/monitor/snapshot.js'),
      import('../screens/monitor/reducer.js'),
      import('../screens/monitor/monitor-view.js'),
    ]);

  // One reading per second of simulated traffic, printed as ipvsadm and the kernel print it. The
  // text of each frame is made outside the timed part; nothing of it is kept between frames.
  let clock = 1_700_000_000_000;
  const source = demo.createDemoSource({
    seed: 1,
    now: () => clock,
    scale: { services, serversPerService: perService },
  });
  const zeroCounters = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
  const zeroRates = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
  // Through a Buffer, as a child process's output arrives: flat strings, not the formatter's ropes.
  const flat = (text: string) => Buffer.from(text).toString();
  async function nextTexts() {
    clock += 1000;
    const s = await source.read();
    return {
      proc: flat(fmt.formatProcIpVs(s)),
      stats: flat(fmt.formatIpvsadmStats(s, { exact: true })),
      totals: flat(
        fmt.formatProcIpVsStats(s.totals ?? zeroCounters, s.kernelTotalRates ?? zeroRates),
      ),
      takenAt: s.takenAt,
    };
  }

  // Ink's own cost for a screen of the same size (plain ASCII lines, one Text each): the floor any
  // Ink screen pays on this machine, so the figures below can be read against it.
  const { Box, Text } = await import('ink');
  const floorLine = (i: number, j: number) => `${i} ${j} `.padEnd(columns - 2, 'x');
  const floorTimes: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t = performance.now();
    renderToString(
      createElement(
        Box,
        { flexDirection: 'column', width: columns },
        ...Array.from({ length: rows - 1 }, (_, j) =>
          createElement(Text, { key: j }, floorLine(i, j)),
        ),
      ),
      { columns },
    );
    if (i >= 10) floorTimes.push(performance.now() - t);
  }

  const gc = (globalThis as { gc?: () => void }).gc;
  let state = reducer.initialState({ terminalRows: rows, readOnly: false });
  const parseTimes: number[] = [];
  const renderTimes: number[] = [];
  const frameTimes: number[] = [];
  const keyTimes: number[] = [];
  let outputBytes = 0;
  let heapStart = 0;
  let cpuInLoop = 0;
  for (let i = 0; i < frames + warmup; i++) {
    const t = await nextTexts();
    if (i === warmup) {
      gc?.();
      heapStart = process.memoryUsage().heapUsed;
    }
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const snapshot = snap.buildSnapshot({
      takenAt: t.takenAt,
      host: 'bench-director',
      source: 'fixture',
      table: parse.parseProcIpVs(t.proc),
      stats: parse.parseIpvsadmStats(t.stats),
      ipvsStats: parse.parseProcIpVsStats(t.totals),
      director: { vrrp: 'MASTER', keepalived: true, vipsPresent: [] },
      warnings: [],
    });
    const t1 = performance.now();
    state = reducer.monitorReducer(state, { type: 'sample', snapshot });
    // Walk the selection through the table so different rows are drawn.
    state = reducer.monitorReducer(state, { type: 'move', delta: 7 });
    const out = renderToString(
      createElement(view.MonitorView, { state, columns, exact: false, intervalMs: 1000 }),
      { columns },
    );
    const t2 = performance.now();
    // A key press alone (no new reading): what ↑/↓ costs.
    state = reducer.monitorReducer(state, { type: 'move', delta: 1 });
    renderToString(
      createElement(view.MonitorView, { state, columns, exact: false, intervalMs: 1000 }),
      { columns },
    );
    const t3 = performance.now();
    const cpuFrame = process.cpuUsage(cpu0);
    if (i >= warmup) {
      cpuInLoop += cpuFrame.user + cpuFrame.system;
      parseTimes.push(t1 - t0);
      renderTimes.push(t2 - t1);
      frameTimes.push(t2 - t0);
      keyTimes.push(t3 - t2);
      outputBytes = out.length;
    }
  }
  gc?.();
  const heapGrowthKB = Math.round((process.memoryUsage().heapUsed - heapStart) / 1024);
  // CPU of a reading's frame: parse, rates, render (the key-press render is not counted).
  const cpuMsPerFrame =
    (cpuInLoop / 1000 / frames) * (sum(frameTimes) / (sum(frameTimes) + sum(keyTimes)));
  const sorted = (a: number[]) => a.slice().sort((x, y) => x - y);
  const f = sorted(frameTimes);
  const p = sorted(parseTimes);
  const r = sorted(renderTimes);
  const k = sorted(keyTimes);
  return {
    table: `${services} services × ${perService} real servers (${services * (perService + 1)} rows)`,
    screen: `${columns}×${rows}, ${state.viewport} rows drawn`,
    react: process.env.NODE_ENV === 'production' ? 'production' : 'development',
    frames,
    loadAverage1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    cpus: os.cpus().length,
    inkFloorMedianMs: ms(percentile(sorted(floorTimes), 50)),
    frameMedianMs: ms(percentile(f, 50)),
    frameP95Ms: ms(percentile(f, 95)),
    parseMedianMs: ms(percentile(p, 50)),
    parseP95Ms: ms(percentile(p, 95)),
    renderMedianMs: ms(percentile(r, 50)),
    renderP95Ms: ms(percentile(r, 95)),
    keyMedianMs: ms(percentile(k, 50)),
    keyP95Ms: ms(percentile(k, 95)),
    cpuMsPerFrame: ms(cpuMsPerFrame),
    // At 1 Hz the monitor does one frame a second: CPU % ≈ CPU ms per frame / 10.
    cpuPercentAt1Hz: Math.round((cpuMsPerFrame / 10) * 100) / 100,
    frameBytes: outputBytes,
    // Only meaningful with --expose-gc (then both ends are measured after a collection).
    heapGrowthKB: gc ? heapGrowthKB : 'n/a (run node with --expose-gc)',
    peakRssMB: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  };
}

async function main(): Promise<void> {
  const result = await benchMonitor();
  const width = Math.max(...Object.keys(result).map((k) => k.length));
  for (const [key, value] of Object.entries(result)) console.log(`${key.padEnd(width)}  ${value}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
