/**
 * The single boundary to the machine. Everything that runs a command or touches a file goes through
 * a `Machine`; the rest of the code receives one as a parameter, so tests pass a fake (see
 * test/helpers/fake-machine.ts) and `plan` / `--dry-run` never construct the real one.
 */

export interface RunOptions {
  /** Kill the command (and its process group) after this many milliseconds. */
  timeoutMs?: number;
  /** Called with each chunk of combined stdout/stderr while the command runs. */
  onOutput?: (chunk: string) => void;
  /** Text fed to the command's standard input (e.g. an `ipvsadm -R` batch). */
  input?: string;
  /** Environment additions. */
  env?: Record<string, string>;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the command was killed because it ran past `timeoutMs`. */
  timedOut: boolean;
  /** True when the program itself could not be started (not installed). */
  notFound: boolean;
  durationMs: number;
}

export interface FileStat {
  mode: number; // permission bits only (e.g. 0o644)
  size: number;
}

export interface Machine {
  /** Run a program. `argv[0]` is the program; never a shell string. */
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  readFile(path: string): Promise<string | null>;
  readFileBytes(path: string): Promise<Buffer | null>;
  stat(path: string): Promise<FileStat | null>;
  /** Write atomically (temporary file in the same folder, fsync, rename) with the given mode. */
  writeFileAtomic(path: string, content: string | Buffer, mode: number): Promise<void>;
  /** Append to a file, creating it with `mode` when absent (logs). */
  appendFile(path: string, content: string, mode: number): Promise<void>;
  removeFile(path: string): Promise<void>;
  mkdirp(path: string, mode: number): Promise<void>;
  listDir(path: string): Promise<string[] | null>;
  /** Effective user id (0 = root). */
  uid(): number;
  env(name: string): string | undefined;
}

export function shortCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** POSIX single-quote a word unless it is made only of characters that are safe as they are. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
