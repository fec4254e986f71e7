/**
 * Wizard start-up: the time from starting the built wizard in a terminal to its first frame (Ink
 * in raw mode, a key already works) and to its first question-ready frame (the NIC table, after
 * the facts are read), side by side with a bare Ink hello-world built and started the same way
 * (bench/wizard-hello.ts; same esbuild options; both run in a pseudo-terminal made by
 * `script`, without CI in the environment). Runs alternate (A, B, A, B, …); medians.
 *
 * `npx tsx bench/wizard.ts` prints the figures; bench/run.ts calls benchWizard().
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { buildLikeRelease } from './wizard-build.js';

const GOAL = 1.5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * Start `node file args` in a pseudo-terminal and time, from just before the spawn, when each
 * marker first shows on the terminal. Then end it.
 */
export function timeToMarkers(
  file: string,
  args: string[],
  markers: string[],
  cwd: string,
  timeoutMs = 30000,
): Promise<number[]> {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete env.CI;
  const quoted = [process.execPath, file, ...args].map((w) => `'${w.replace(/'/g, `'\\''`)}'`);
  // script's terminal starts 0×0 (its own input is a pipe): give it a real size first.
  const command = `stty cols 120 rows 40 2>/dev/null; exec ${quoted.join(' ')}`;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // script(1) gives the child a terminal; -e passes its exit status, -f flushes at once.
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd,
      env,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const found: number[] = [];
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${file}: no ${markers[found.length]} within ${timeoutMs} ms; got:\n${text.slice(-2000)}`,
        ),
      );
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      text += stripVTControlCharacters(chunk.toString());
      while (found.length < markers.length && text.includes(markers[found.length] ?? '\u0000'))
        found.push(performance.now() - t0);
      if (found.length === markers.length) {
        clearTimeout(timer);
        child.stdin.write('\u0003'); // Ctrl-C: both exit cleanly on it
        child.kill('SIGTERM');
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      if (found.length === markers.length) resolve(found);
    });
    child.on('error', reject);
  });
}

export async function benchWizard(runs = 7): Promise<Record<string, number | string>> {
  if (spawnSync('script', ['--version']).status !== 0)
    return { skipped: 'script(1) from util-linux is needed to give the programs a terminal' };
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'lvs-bench-wizard-'));
  const cwd = mkdtempSync(join(tmpdir(), 'lvs-bench-wizard-cwd-'));
  try {
    const wizard = join(dir, 'lvs-setup.js');
    const hello = join(dir, 'hello.js');
    await buildLikeRelease(join(root, 'source/main.ts'), wizard);
    await buildLikeRelease(join(root, 'bench/wizard-hello.ts'), hello);
    const w = { first: [] as number[], ready: [] as number[] };
    const h: number[] = [];
    // One warm-up each (file cache), then alternate.
    await timeToMarkers(hello, [], ['Hello from Ink'], cwd);
    await timeToMarkers(wizard, ['--dry-run'], ['Reading this host', 'Enter continue'], cwd);
    for (let i = 0; i < runs; i++) {
      const [hf = Number.NaN] = await timeToMarkers(hello, [], ['Hello from Ink'], cwd);
      h.push(hf);
      const [wf = Number.NaN, wr = Number.NaN] = await timeToMarkers(
        wizard,
        ['--dry-run'],
        ['Reading this host', 'Enter continue'],
        cwd,
      );
      w.first.push(wf);
      w.ready.push(wr);
    }
    const hello50 = median(h);
    const first50 = median(w.first);
    const ready50 = median(w.ready);
    const ratio = first50 / hello50;
    return {
      runs,
      helloFirstFrameMs: round(hello50),
      wizardFirstFrameMs: round(first50),
      firstFrameRatio: `${ratio.toFixed(2)}× (goal ≤ ${GOAL}×: ${ratio <= GOAL ? 'met' : 'NOT met'})`,
      wizardHostTableMs: round(ready50),
      hostTableNote:
        'the first question-ready frame: includes reading the host (ip, rpm/dpkg, systemctl …)',
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const result = await benchWizard();
  const width = Math.max(...Object.keys(result).map((k) => k.length));
  for (const [key, value] of Object.entries(result)) console.log(`${key.padEnd(width)}  ${value}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
