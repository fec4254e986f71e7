import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Machine, RunResult } from '../boundary.js';

/**
 * Where the monitor's per-server traffic counters come from. Both answer with the text of
 * `ipvsadm -Ln --stats --exact` (kind 'stats') or `ipvsadm -Ln --rate --exact` ('rate'), which
 * the tested ipvsadm parser reads:
 *  - 'netlink': ipvs-read (source/native/ipvs-read.c, built into dist/), one process that stays
 *    running and reads the table over generic netlink at each request;
 *  - 'ipvsadm': one ipvsadm process a reading.
 */
export type CounterKind = 'stats' | 'rate';

export interface CounterReader {
  /** Who answers now (the netlink reader hands over to ipvsadm when it cannot). */
  readonly via: 'netlink' | 'ipvsadm';
  /** Why the netlink reader handed over to ipvsadm (its message), when it did. */
  readonly handedOver?: string | null;
  read(kind: CounterKind): Promise<RunResult>;
  /** Ends a running helper. Reading again afterwards starts it again. */
  close(): void;
}

export const IPVSADM_TIMEOUT_MS = 10_000;

/** A stream's handle, which can be left out of what keeps node running. */
interface Ref {
  ref?: () => void;
  unref?: () => void;
}

export function ipvsadmReader(machine: Machine): CounterReader {
  return {
    via: 'ipvsadm',
    read: (kind) =>
      machine.run(['ipvsadm', '-Ln', kind === 'stats' ? '--stats' : '--rate', '--exact'], {
        timeoutMs: IPVSADM_TIMEOUT_MS,
      }),
    close() {},
  };
}

/** The helper's reply ends with this line; an error reply is one "#error <errno> <text>" line. */
const END = '#end\n';

function result(partial: Partial<RunResult> & { exitCode: number }, startedAt: number): RunResult {
  return {
    stdout: '',
    stderr: '',
    timedOut: false,
    notFound: false,
    durationMs: Date.now() - startedAt,
    ...partial,
  };
}

export interface NetlinkReaderOptions {
  timeoutMs?: number;
  /** Arguments before --serve (tests run a script under node). */
  args?: readonly string[];
}

/**
 * The resident helper: started at the first reading with `--serve`, asked one line ("stats" or
 * "rate") per reading, answered with the listing and a "#end" line. Not a Machine command: it is
 * a read that stays open, and it only reads. A helper that cannot start, dies, stalls past the
 * timeout or answers "#error" gives a failed RunResult; it is started again at the next reading.
 * Its pipes do not keep node alive, and at node's exit its stdin closes, which ends it.
 */
export function netlinkReader(program: string, options: NetlinkReaderOptions = {}): CounterReader {
  const timeoutMs = options.timeoutMs ?? IPVSADM_TIMEOUT_MS;
  let child: ChildProcessWithoutNullStreams | null = null;
  /** The reading in flight: the helper answers one request at a time, in order. */
  let pending: {
    text: string;
    done: (r: RunResult) => void;
    startedAt: number;
  } | null = null;
  let queue: Promise<unknown> = Promise.resolve();

  /**
   * A reading in flight keeps node running (a `--once --json` has nothing else to wait on);
   * an idle helper does not, so the monitor exits when it is done even if close() is missed.
   */
  const hold = (c: ChildProcessWithoutNullStreams, on: boolean) => {
    if (on) {
      c.ref();
      (c.stdout as unknown as Ref).ref?.();
    } else {
      c.unref();
      (c.stdout as unknown as Ref).unref?.();
    }
  };

  const fail = (partial: Partial<RunResult>) => {
    const p = pending;
    pending = null;
    p?.done(result({ exitCode: 1, ...partial }, p.startedAt));
  };

  /** Ends the helper; a reading in flight fails with `why` (so no caller waits forever). */
  const stop = (why: Partial<RunResult> = { stderr: 'ipvs-read: closed' }) => {
    fail(why);
    const c = child;
    child = null;
    if (c) {
      c.stdin.destroy();
      c.stdout.destroy();
      c.stderr.destroy();
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    }
  };

  const start = (): ChildProcessWithoutNullStreams => {
    const c = spawn(program, [...(options.args ?? []), '--serve'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    c.stdout.setEncoding('utf8');
    c.stderr.setEncoding('utf8');
    let stderr = '';
    c.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    c.stdout.on('data', (chunk: string) => {
      const p = pending;
      if (!p || child !== c) return;
      p.text += chunk;
      // The end line is looked for at the tail only: a listing is ~90 KB at 1,000 servers.
      if (!p.text.endsWith(END)) return;
      pending = null;
      const body = p.text.slice(0, -END.length);
      if (body.startsWith('#error ')) {
        const m = /^#error (\d+) (.*)/.exec(body);
        p.done(
          result(
            { exitCode: 1, stderr: `ipvs-read: ${m?.[2] ?? body.slice(7).trim()}` },
            p.startedAt,
          ),
        );
      } else {
        p.done(result({ exitCode: 0, stdout: body }, p.startedAt));
      }
    });
    c.on('error', (e: NodeJS.ErrnoException) => {
      if (child !== c) return;
      stop({ notFound: e.code === 'ENOENT', stderr: `ipvs-read: ${e.message}` });
    });
    c.on('exit', (code, signal) => {
      if (child !== c) return;
      child = null;
      fail({ stderr: `ipvs-read ended (${signal ?? `exit ${code}`}) ${stderr.trim()}`.trim() });
    });
    // Between readings neither the process nor its pipes hold node open (see hold).
    hold(c, false);
    (c.stdin as unknown as Ref).unref?.();
    (c.stderr as unknown as Ref).unref?.();
    c.stdin.on('error', () => {
      // EPIPE when it died: its exit (above) reports it.
    });
    return c;
  };

  const readOnce = (kind: CounterKind): Promise<RunResult> =>
    new Promise<RunResult>((resolve) => {
      const startedAt = Date.now();
      const timer = setTimeout(() => {
        // Node runs timers before it reads its pipes: after a long stretch of other work (the
        // monitor's start in a slow VM) the answer may be waiting unread. setImmediate runs
        // after that read; only a reading still pending then has timed out.
        setImmediate(() => {
          if (pending !== reading) return;
          stop({ timedOut: true, stderr: `ipvs-read: no answer within ${timeoutMs} ms` });
        });
      }, timeoutMs);
      timer.unref();
      const reading = {
        text: '',
        startedAt,
        done: (r: RunResult) => {
          clearTimeout(timer);
          if (child) hold(child, false);
          resolve(r);
        },
      };
      pending = reading;
      try {
        child ??= start();
        hold(child, true);
        child.stdin.write(`${kind}\n`);
      } catch (e) {
        stop({ stderr: `ipvs-read: ${(e as Error).message}` });
      }
    });

  return {
    via: 'netlink',
    read(kind) {
      const next = queue.then(() => readOnce(kind));
      queue = next.catch(() => undefined);
      return next;
    },
    close: () => stop(),
  };
}

/**
 * The netlink reader while it works, else ipvsadm for the rest of the run: the first failure
 * (no helper for this machine, no IPVS family, not root, a crash) hands over, and ipvsadm's own
 * answer (with its clear warnings: not installed, needs root) is the reading.
 */
export function withFallback(
  primary: CounterReader,
  fallback: CounterReader,
): CounterReader & { readonly handedOver: string | null } {
  let current = primary;
  let handedOver: string | null = null;
  return {
    get via() {
      return current.via;
    },
    /** Why it went over to the fallback (the primary's message), or null. */
    get handedOver() {
      return handedOver;
    },
    async read(kind) {
      if (current === primary) {
        const r = await primary.read(kind);
        if (r.exitCode === 0) return r;
        primary.close();
        current = fallback;
        handedOver = r.stderr || `exit ${r.exitCode}`;
      }
      return current.read(kind);
    },
    close() {
      // Both: a reading that was in flight on the helper when it handed over may have started it
      // again.
      primary.close();
      fallback.close();
    },
  };
}

/**
 * The built helper, where the bundle puts it (dist/ipvs-read beside dist/lvs-setup.js, or one
 * folder up from a chunk), or in the checkout's dist/ when run from source. Null when none is
 * there (a machine where it was not built, or LVS_SETUP_IPVS_READ=off): then ipvsadm reads.
 * LVS_SETUP_IPVS_READ=path names another.
 */
export function findIpvsRead(env: (name: string) => string | undefined): string | null {
  const named = env('LVS_SETUP_IPVS_READ');
  if (named === 'off' || named === '0') return null;
  // Beside the bundle's entry or one folder up from its chunk (dist/), or, from the source tree
  // only (source/monitor/), the checkout's dist/: never a path outside the package.
  const here = import.meta.url;
  const fromSource = /\/source\/monitor\/counter-reader\.[jt]s$/.test(here);
  const candidates = named
    ? [named]
    : (fromSource ? ['../../dist/ipvs-read'] : ['./ipvs-read', '../ipvs-read']).map((p) =>
        fileURLToPath(new URL(p, here)),
      );
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // Not there: the next.
    }
  }
  return null;
}
