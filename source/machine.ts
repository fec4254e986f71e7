import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import type { FileStat, Machine, RunOptions, RunResult } from './boundary.js';

const DEFAULT_TIMEOUT_MS = 120_000;
const KILL_GRACE_MS = 2_000;

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Ends a command's whole process group (it runs detached, as its own group). */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Arms `timeoutMs` (SIGTERM to the group, SIGKILL after a grace) and ends the group if this
 * process exits first. Returns whether it fired, and the disarm.
 */
function guard(pid: number | undefined, timeoutMs: number) {
  const state = { timedOut: false };
  const timer = setTimeout(() => {
    state.timedOut = true;
    killGroup(pid, 'SIGTERM');
    setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
  }, timeoutMs);
  const onExit = () => killGroup(pid, 'SIGTERM');
  process.once('exit', onExit);
  return {
    state,
    disarm() {
      clearTimeout(timer);
      process.removeListener('exit', onExit);
    },
  };
}

const notFoundResult = (file: string, started: number): RunResult => ({
  exitCode: 127,
  stdout: '',
  stderr: `${file}: command not found`,
  timedOut: false,
  notFound: true,
  durationMs: Date.now() - started,
});

/**
 * A command whose output is only read at the end (facts, checks, the monitor's `ipvsadm` every
 * second: nearly every command by count), straight on node:child_process. Measured in a TCG lab
 * guest, 20 runs of `ipvsadm -Ln --stats --exact`: 60-72 ms of this process's CPU per run here
 * against 126-139 ms through execa (whose stream and option machinery is built for every run).
 */
function capture(
  file: string,
  args: string[],
  timeoutMs: number,
  env: Record<string, string> | undefined,
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_ALL: 'C', ...env },
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') resolve(notFoundResult(file, started));
      else
        resolve({
          exitCode: 1,
          stdout: '',
          stderr: `${file}: ${(error as Error).message}`,
          timedOut: false,
          notFound: false,
          durationMs: Date.now() - started,
        });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const { state, disarm } = guard(child.pid, timeoutMs);
    let spawnError: NodeJS.ErrnoException | null = null;
    child.once('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    // 'close': the process has ended and its output pipes are drained.
    child.once('close', (code: number | null) => {
      disarm();
      const failed = spawnError as NodeJS.ErrnoException | null;
      if (failed?.code === 'ENOENT') {
        resolve(notFoundResult(file, started));
        return;
      }
      resolve({
        exitCode: typeof code === 'number' ? code : 1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString() || (failed ? `${file}: ${failed.message}\n` : ''),
        timedOut: state.timedOut,
        notFound: false,
        durationMs: Date.now() - started,
      });
    });
  });
}

/** /proc/net and /proc/sys: kernel tables and settings, generated when read (see readFile). */
const KERNEL_FILE = /^\/proc\/(net|sys)\//;

/**
 * The real machine. Commands run each in its own process group, so a timeout ends the command's
 * children too (e.g. a package manager's helpers). Commands that stream their output or take
 * input (the steps of an apply: package installs, `ipvsadm -R` batches) go through execa; plain
 * reads through capture() above. Files through fs.
 */
export function createRealMachine(): Machine {
  return {
    async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
      const [file, ...args] = argv;
      if (!file) throw new Error('run: empty argv');
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      if (options.onOutput === undefined && options.input === undefined)
        return capture(file, args, timeoutMs, options.env);
      const started = Date.now();
      // Loaded on the first such command: reads (plan, doctor, the monitor) never parse it.
      const { execa } = await import('execa');
      const child = execa(file, args, {
        reject: false,
        // The interleaved stream only when someone reads it.
        all: options.onOutput !== undefined,
        stripFinalNewline: false,
        detached: true,
        ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
        env: { LC_ALL: 'C', ...options.env },
      });
      const { state, disarm } = guard(child.pid, timeoutMs);
      if (options.onOutput)
        child.all?.on('data', (chunk: Buffer) => options.onOutput?.(chunk.toString()));
      const result = await child;
      disarm();
      const notFound = (result as { code?: string }).code === 'ENOENT';
      if (notFound) return notFoundResult(file, started);
      return {
        exitCode: typeof result.exitCode === 'number' ? result.exitCode : 1,
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
        timedOut: state.timedOut,
        notFound,
        durationMs: Date.now() - started,
      };
    },
    async readFile(path) {
      try {
        // Files the kernel makes as they are read (the monitor reads a few every second): read
        // at once, without the thread pool's round trips of an async read (open, stat, each
        // chunk, close). They never wait on a disk.
        if (KERNEL_FILE.test(path)) return readFileSync(path, 'utf8');
        return await readFile(path, 'utf8');
      } catch (e) {
        if (
          isMissing(e) ||
          (e as { code?: string }).code === 'EISDIR' ||
          (e as { code?: string }).code === 'EACCES'
        )
          return null;
        throw e;
      }
    },
    async readFileBytes(path) {
      try {
        return await readFile(path);
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    },
    async stat(path): Promise<FileStat | null> {
      try {
        const s = await stat(path);
        return { mode: s.mode & 0o7777, size: s.size };
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    },
    async writeFileAtomic(path, content, mode) {
      await mkdir(path.replace(/\/[^/]*$/, '') || '/', { recursive: true });
      await writeFileAtomic(path, content, { mode, fsync: true });
    },
    async appendFile(path, content, mode) {
      await appendFile(path, content, { mode });
    },
    async removeFile(path) {
      await rm(path, { force: true });
    },
    async mkdirp(path, mode) {
      await mkdir(path, { recursive: true, mode });
    },
    async listDir(path) {
      try {
        return await readdir(path);
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    },
    uid: () => (typeof process.getuid === 'function' ? process.getuid() : 0),
    env: (name) => process.env[name],
  };
}
