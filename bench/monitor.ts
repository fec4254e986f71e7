/**
 * Monitor benchmark: 100 virtual services × 10 real servers, in two parts.
 *
 * 1. Frame time, in this process. Per frame it does what the live screen does each second on a
 *    real director — parse /proc/net/ip_vs, `ipvsadm -Ln --stats --exact` and
 *    /proc/net/ip_vs_stats, join them, compute rates and history, rebuild the rows — and draws
 *    the screen the way the running app does: one Ink instance (render()) kept across frames,
 *    writing to a 160×50 terminal, each reading re-rendered and written out before the frame
 *    ends. Median and p95 per frame, beside Ink's own cost for a screen of the same size
 *    (inkFloor: plain ASCII lines, one Text each, changing every frame). The texts are printed
 *    by format-ipvsadm.ts from the demo director's table, so the parsers see ipvsadm's layout.
 *
 * 2. What a user runs: the built bundle, `node dist/lvs-setup.js monitor --demo` with
 *    LVS_SETUP_DEMO_SCALE=100x10 (the same generated table, read through the same parsers:
 *    source/monitor/printed-source.ts), in a pseudo-terminal made by script(1), for 60 s at
 *    1 Hz. Peak RSS is VmHWM from /proc/<pid>/status and CPU is utime+stime from
 *    /proc/<pid>/stat, both of the node process (not of script), the CPU counted from the first
 *    frame so start-up is reported apart.
 *
 * 3. The same bundle again (at least 40 s) under `node --trace-opt`: TurboFan compiles after
 *    the 20th frame, as a rate a minute. Steady code compiles little once warm; tens a minute
 *    mean something hot is compiled again and again (see source/monitor/rates.ts, shares).
 *
 * `npx tsx bench/monitor.ts` prints the figures (`--quick`: a 15 s bundle run, `--frames-only`:
 * part 1 only); bench/run.ts
 * calls benchMonitor(). Run `npm run build` first: part 2 runs dist/.
 */
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchMonitorOptions {
  services?: number;
  serversPerService?: number;
  frames?: number;
  warmup?: number;
  columns?: number;
  rows?: number;
  /** How long the built bundle runs at 1 Hz (part 2); 0 skips part 2. */
  bundleSeconds?: number;
}

const FRAME_GOAL_MS = 16;
const RSS_GOAL_MB = 120;

const sum = (a: readonly number[]) => a.reduce((x, y) => x + y, 0);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

const ms = (n: number) => Math.round(n * 100) / 100;
const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;
const sorted = (a: readonly number[]) => a.slice().sort((x, y) => x - y);

/** A terminal for Ink that only counts what is written to it. */
class FakeTerminal extends EventEmitter {
  readonly isTTY = true;
  bytes = 0;
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write(text: string): boolean {
    this.bytes += text.length;
    return true;
  }
}

/** Ink reads keys only when a component asks (the view does not): a stdin that never has any. */
class FakeInput extends EventEmitter {
  readonly isTTY = false;
  setRawMode(): void {}
  setEncoding(): void {}
  ref(): void {}
  unref(): void {}
  read(): null {
    return null;
  }
}

async function measureFrames(o: Required<BenchMonitorOptions>, fastOutput: boolean) {
  // React's production build is what the shipped bundle uses (scripts/build.mjs defines it);
  // it only takes effect if React has not been loaded yet in this process.
  process.env.NODE_ENV ??= 'production';
  const { services, serversPerService: perService, frames, warmup, columns, rows } = o;
  const [{ createElement }, ink, demo, fmt, parse, snap, reducer, view] = await Promise.all([
    import('react'),
    import('ink'),
    import('../source/monitor/demo.js'),
    import('../source/monitor/format-ipvsadm.js'),
    import('../source/monitor/parse.js'),
    import('../source/monitor/snapshot.js'),
    import('../screens/monitor/reducer.js'),
    import('../screens/monitor/monitor-view.js'),
  ]);
  const { Box, Text } = ink;
  (await import('../screens/ink-fast-output.js')).installFastOutput(fastOutput);

  /**
   * One Ink instance, as `lvs-setup monitor` has. maxFps is raised only so that frames drawn back
   * to back here are each drawn at once: at 1 Hz every reading is the first change in Ink's 33 ms
   * window, which Ink draws at once too.
   */
  function inkScreen(first: Parameters<typeof ink.render>[0]) {
    const terminal = new FakeTerminal(columns, rows);
    const instance = ink.render(first, {
      stdout: terminal as unknown as NodeJS.WriteStream,
      stderr: terminal as unknown as NodeJS.WriteStream,
      stdin: new FakeInput() as unknown as NodeJS.ReadStream,
      patchConsole: false,
      exitOnCtrlC: false,
      maxFps: 10_000,
    });
    return { terminal, instance };
  }

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

  // Ink's own cost for a screen of the same size (plain ASCII lines, one Text each, new text
  // every frame): the floor any Ink screen pays on this machine.
  const floorLine = (i: number, j: number) => `${i} ${j} `.padEnd(columns - 2, 'x');
  const floorScreen = (i: number) =>
    createElement(
      Box,
      { flexDirection: 'column', width: columns },
      ...Array.from({ length: rows - 1 }, (_, j) =>
        createElement(Text, { key: j }, floorLine(i, j)),
      ),
    );
  const floor = inkScreen(floorScreen(0));
  const floorTimes: number[] = [];
  for (let i = 1; i <= 70; i++) {
    const t = performance.now();
    floor.instance.rerender(floorScreen(i));
    if (i > 10) floorTimes.push(performance.now() - t);
  }
  floor.instance.unmount();

  let state = reducer.initialState({ terminalRows: rows, readOnly: false });
  const screen = (s: typeof state) =>
    createElement(view.MonitorView, { state: s, columns, exact: false, intervalMs: 1000 });
  const { terminal, instance } = inkScreen(screen(state));
  const parseTimes: number[] = [];
  const renderTimes: number[] = [];
  const frameTimes: number[] = [];
  const keyTimes: number[] = [];
  const frameBytes: number[] = [];
  let unwritten = 0;
  let cpuInLoop = 0;
  for (let i = 0; i < frames + warmup; i++) {
    const t = await nextTexts();
    const cpu0 = process.cpuUsage();
    const bytes0 = terminal.bytes;
    const t0 = performance.now();
    const snapshot = snap.buildSnapshot({
      takenAt: t.takenAt,
      host: 'bench-director',
      source: 'fixture',
      table: parse.parseProcIpVs(t.proc, fmt.DEFAULT_HZ),
      stats: parse.parseIpvsadmStats(t.stats),
      ipvsStats: parse.parseProcIpVsStats(t.totals),
      director: { vrrp: 'MASTER', keepalived: true, vipsPresent: [] },
      warnings: [],
    });
    const t1 = performance.now();
    state = reducer.monitorReducer(state, { type: 'sample', snapshot });
    // Walk the selection through the table (from the top again at the end) so different rows are
    // drawn and the key press below always moves.
    state = reducer.monitorReducer(
      state,
      state.selected + 8 < state.rows.length
        ? { type: 'move', delta: 7 }
        : { type: 'move-to', where: 'first' },
    );
    instance.rerender(screen(state));
    const t2 = performance.now();
    const bytes1 = terminal.bytes;
    // A key press alone (no new reading): what ↑/↓ costs.
    state = reducer.monitorReducer(state, { type: 'move', delta: 1 });
    instance.rerender(screen(state));
    const t3 = performance.now();
    const cpuFrame = process.cpuUsage(cpu0);
    // Each render must have been written out within its timed part, not later by a timer.
    if (bytes1 === bytes0 || terminal.bytes === bytes1) unwritten++;
    if (i >= warmup) {
      frameBytes.push(bytes1 - bytes0);
      cpuInLoop += cpuFrame.user + cpuFrame.system;
      parseTimes.push(t1 - t0);
      renderTimes.push(t2 - t1);
      frameTimes.push(t2 - t0);
      keyTimes.push(t3 - t2);
    }
  }
  instance.unmount();
  // CPU of a reading's frame: parse, rates, render (the key-press render is not counted).
  const cpuMsPerFrame =
    (cpuInLoop / 1000 / frames) * (sum(frameTimes) / (sum(frameTimes) + sum(keyTimes)));
  const f = sorted(frameTimes);
  return {
    screen: `${columns}×${rows}, ${state.viewport} rows drawn; one Ink instance re-rendered per frame`,
    react: process.env.NODE_ENV === 'production' ? 'production' : 'development',
    frames,
    frameMedianMs: ms(percentile(f, 50)),
    frameGoal: `≤ ${FRAME_GOAL_MS} ms: ${percentile(f, 50) <= FRAME_GOAL_MS ? 'met' : 'NOT met'} (median)`,
    frameP95Ms: ms(percentile(f, 95)),
    parseMedianMs: ms(percentile(sorted(parseTimes), 50)),
    renderMedianMs: ms(percentile(sorted(renderTimes), 50)),
    inkFloorMedianMs: ms(percentile(sorted(floorTimes), 50)),
    keyMedianMs: ms(percentile(sorted(keyTimes), 50)),
    cpuMsPerFrame: ms(cpuMsPerFrame),
    bytesPerFrame: percentile(sorted(frameBytes), 50),
    ...(unwritten > 0 ? { framesNotWritten: unwritten } : {}),
  };
}

/** utime + stime of a process, in seconds, and its VmHWM / VmRSS in kB. */
function readProc(pid: number, tick: number): { cpu: number; hwmKB: number; rssKB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / tick;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { cpu, hwmKB: kb('VmHWM'), rssKB: kb('VmRSS') };
}

/** The child of `parent` that runs `marker` (script's shell becomes node with exec). */
function findChild(parent: number, marker: string): number | null {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmdline.includes(marker)) return Number(name);
    } catch {
      // The process ended while we looked.
    }
  }
  return null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Frames after which the --trace-opt run counts compiles (see measureRecompiles). */
const WARM_FRAMES = 20;

/**
 * Run the built monitor in a pseudo-terminal for `seconds` at 1 Hz and read the node process's
 * peak RSS and CPU. Frames are counted by their header line. With `traceOpt`, node runs with
 * --trace-opt and TurboFan's compiles are counted instead (measureRecompiles).
 */
async function measureBundle(
  o: Required<BenchMonitorOptions>,
  traceOpt = false,
): Promise<Record<string, number | string>> {
  const bundle = fileURLToPath(new URL('../dist/lvs-setup.js', import.meta.url));
  if (!existsSync(bundle)) return { bundleSkipped: 'no dist/lvs-setup.js: run npm run build' };
  if (spawnSync('script', ['--version']).status !== 0)
    return { bundleSkipped: 'script(1) from util-linux is needed to give the monitor a terminal' };
  const tick = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TERM: 'xterm-256color',
    LVS_SETUP_DEMO_SCALE: `${o.services}x${o.serversPerService}`,
  };
  // Ink prints nothing when CI is set; NODE_OPTIONS could carry this bench's loader into it.
  delete env.CI;
  delete env.NODE_OPTIONS;
  const argv = [
    process.execPath,
    ...(traceOpt ? ['--trace-opt'] : []),
    bundle,
    'monitor',
    '--demo',
  ];
  const quoted = argv.map((w) => `'${w.replace(/'/g, `'\\''`)}'`);
  // script's terminal starts 0×0 (its own input is a pipe): give it a real size first.
  const command = `stty cols ${o.columns} rows ${o.rows} 2>/dev/null; exec ${quoted.join(' ')}`;
  const t0 = performance.now();
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const HEADER = 'lvs-setup monitor';
  const READY = `${o.services} services, ${o.services * o.serversPerService} real servers`;
  let frames = 0;
  let tail = '';
  let ready = false;
  let readyAt = 0;
  let closed = false;
  const COMPILED = '[completed compiling';
  let compiles = 0;
  let compilesWarm = 0;
  let traceTail = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const piece = chunk.toString('latin1');
    const text = tail + piece;
    for (let i = text.indexOf(HEADER); i >= 0; i = text.indexOf(HEADER, i + 1)) frames++;
    if (!ready && text.includes(READY)) {
      ready = true;
      readyAt = performance.now();
    }
    // A header cut by the chunk boundary is completed by the next chunk (too short to count twice).
    tail = text.slice(-(HEADER.length - 1));
    if (!traceOpt) return;
    const traced = traceTail + piece;
    for (let i = traced.indexOf(COMPILED); i >= 0; i = traced.indexOf(COMPILED, i + 1)) {
      compiles++;
      if (frames > WARM_FRAMES) compilesWarm++;
    }
    traceTail = traced.slice(-(COMPILED.length - 1));
  });
  child.on('close', () => {
    closed = true;
  });
  try {
    let pid: number | null = null;
    const deadline = performance.now() + 60_000;
    while ((pid === null || !ready) && !closed && performance.now() < deadline) {
      await sleep(50);
      pid ??= findChild(child.pid ?? -1, 'lvs-setup.js');
    }
    if (pid === null || !ready) return { bundleSkipped: 'the built monitor did not start' };
    const startup = readProc(pid, tick);
    const framesAtStart = frames;
    await sleep(o.bundleSeconds * 1000);
    const end = readProc(pid, tick);
    const framesDrawn = frames - framesAtStart;
    const cpuPer60 = ((end.cpu - startup.cpu) / o.bundleSeconds) * 60;
    if (traceOpt) {
      const warmFrames = frames - WARM_FRAMES;
      return {
        recompileRun: `the same, ${o.bundleSeconds} s, node --trace-opt`,
        turbofanCompiles: compiles,
        turbofanCompilesAfterFrame20: compilesWarm,
        turbofanCompilesPerMinuteWarm:
          warmFrames > 0 ? Math.round((compilesWarm / warmFrames) * 60 * 10) / 10 : 'n/a',
      };
    }
    return {
      bundle: `node dist/lvs-setup.js monitor --demo, LVS_SETUP_DEMO_SCALE=${o.services}x${o.serversPerService}, ${o.columns}×${o.rows} pty`,
      bundleRunSeconds: o.bundleSeconds,
      bundleFirstFrameMs: Math.round(readyAt - t0),
      bundleStartupCpuS: Math.round(startup.cpu * 100) / 100,
      bundleFramesDrawn: framesDrawn,
      bundleCpuSecondsPer60s: Math.round(cpuPer60 * 100) / 100,
      bundleCpuPercentAt1Hz: Math.round((cpuPer60 / 60) * 1000) / 10,
      bundleCpuMsPerFrame:
        framesDrawn > 0 ? ms(((end.cpu - startup.cpu) * 1000) / framesDrawn) : 'n/a',
      peakRssMB: mb(end.hwmKB),
      rssGoal: `≤ ${RSS_GOAL_MB} MB: ${mb(end.hwmKB) <= RSS_GOAL_MB ? 'met' : 'NOT met'} (VmHWM of the node process)`,
      rssAtEndMB: mb(end.rssKB),
    };
  } finally {
    if (!closed) {
      child.stdin.write('q');
      for (let i = 0; i < 40 && !closed; i++) await sleep(50);
      if (!closed) child.kill('SIGKILL');
    }
  }
}

/**
 * The built monitor again, with V8's --trace-opt: how many functions TurboFan compiles after the
 * first WARM_FRAMES frames, when everything hot has been compiled once. Code that makes a
 * callback anew on every reading keeps this high (V8 drops such a callback's optimized code at
 * each full GC and compiles it again); a separate run, so the tracing does not count in the CPU
 * figures.
 */
function measureRecompiles(o: Required<BenchMonitorOptions>) {
  return measureBundle({ ...o, bundleSeconds: Math.max(40, o.bundleSeconds) }, true);
}

export async function benchMonitor(
  options: BenchMonitorOptions = {},
): Promise<Record<string, number | string>> {
  const o: Required<BenchMonitorOptions> = {
    services: options.services ?? 100,
    serversPerService: options.serversPerService ?? 10,
    frames: options.frames ?? 150,
    warmup: options.warmup ?? 20,
    columns: options.columns ?? 160,
    rows: options.rows ?? 50,
    bundleSeconds: options.bundleSeconds ?? 60,
  };
  const head = {
    table: `${o.services} services × ${o.serversPerService} real servers (${o.services * (o.serversPerService + 1)} rows)`,
    loadAverage1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    cpus: os.cpus().length,
    note:
      o.bundleSeconds > 0
        ? `part 2 runs the built monitor for ${o.bundleSeconds} s at 1 Hz to measure its CPU and RSS`
        : 'bundle run skipped',
  };
  // Side by side in one run: Ink's own output step, then the monitor's (screens/ink-fast-output.ts).
  const stock = await measureFrames(o, false);
  const frames = await measureFrames(o, true);
  const stockFrames = {
    stockInkFrameMedianMs: stock.frameMedianMs,
    stockInkRenderMedianMs: stock.renderMedianMs,
    stockInkKeyMedianMs: stock.keyMedianMs,
    frameSpeedup: `${(Number(stock.frameMedianMs) / Number(frames.frameMedianMs)).toFixed(2)}× (stock Ink output ÷ the monitor's)`,
  };
  const bundle = o.bundleSeconds > 0 ? await measureBundle(o) : {};
  const recompiles = o.bundleSeconds > 0 ? await measureRecompiles(o) : {};
  return { ...head, ...frames, ...stockFrames, ...bundle, ...recompiles };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const result = await benchMonitor({
    ...(quick ? { bundleSeconds: 15, frames: 60 } : {}),
    ...(process.argv.includes('--frames-only') ? { bundleSeconds: 0 } : {}),
  });
  const width = Math.max(...Object.keys(result).map((k) => k.length));
  for (const [key, value] of Object.entries(result)) console.log(`${key.padEnd(width)}  ${value}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
