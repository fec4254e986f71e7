import { appendFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { execa } from 'execa';
import writeFileAtomic from 'write-file-atomic';
import type { FileStat, Machine, RunOptions, RunResult } from './boundary.js';

const DEFAULT_TIMEOUT_MS = 120_000;
const KILL_GRACE_MS = 2_000;

function isMissing(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The real machine: execa for commands (each in its own process group, so a timeout ends the
 * command's children too, e.g. a package manager's helpers), fs for files.
 */
export function createRealMachine(): Machine {
  return {
    async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
      const [file, ...args] = argv;
      if (!file) throw new Error('run: empty argv');
      const started = Date.now();
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const child = execa(file, args, {
        reject: false,
        // The interleaved stream only when someone reads it: it costs ~30% of a small command's
        // CPU in this process (the monitor runs ipvsadm every second).
        all: options.onOutput !== undefined,
        stripFinalNewline: false,
        detached: true,
        ...(options.input !== undefined ? { input: options.input } : { stdin: 'ignore' as const }),
        env: { LC_ALL: 'C', ...options.env },
      });
      let timedOut = false;
      const killGroup = (signal: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          // The group is already gone.
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
      }, timeoutMs);
      const onExit = () => killGroup('SIGTERM');
      process.once('exit', onExit);
      if (options.onOutput)
        child.all?.on('data', (chunk: Buffer) => options.onOutput?.(chunk.toString()));
      const result = await child;
      clearTimeout(timer);
      process.removeListener('exit', onExit);
      const notFound = (result as { code?: string }).code === 'ENOENT';
      return {
        exitCode: typeof result.exitCode === 'number' ? result.exitCode : notFound ? 127 : 1,
        stdout: String(result.stdout ?? ''),
        stderr: notFound ? `${file}: command not found` : String(result.stderr ?? ''),
        timedOut,
        notFound,
        durationMs: Date.now() - started,
      };
    },
    async readFile(path) {
      try {
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
