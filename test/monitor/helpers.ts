import { readFileSync } from 'node:fs';
import type { FileStat, Machine, RunResult } from '../../source/boundary.js';
import {
  destinationKey,
  serviceKey,
  type ForwardMethod,
  type Snapshot,
} from '../../source/monitor/model.js';
import type { MonitorSource } from '../../source/monitor/source-types.js';

/** Shared test helpers for the monitor: fixtures and a fake Machine. */

const FIXTURES = new URL('../fixtures/ipvsadm/', import.meta.url);

export function fixture(path: string): string {
  return readFileSync(new URL(path, FIXTURES), 'utf8');
}

export type FakeCommand = Partial<RunResult> | ((argv: readonly string[]) => Partial<RunResult>);

export interface FakeMachine extends Machine {
  calls: string[][];
  files: Record<string, string>;
  commands: Record<string, FakeCommand>;
}

/**
 * Files by path and commands by their argv joined with spaces. A command that is not listed is
 * "not installed" (notFound, exit 127), as the real machine reports it.
 */
export function fakeMachine(
  options: {
    files?: Record<string, string>;
    commands?: Record<string, FakeCommand>;
    uid?: number;
  } = {},
): FakeMachine {
  const files = { ...options.files };
  const commands = { ...options.commands };
  const calls: string[][] = [];
  const result = (partial: Partial<RunResult>): RunResult => ({
    exitCode: 0,
    stdout: '',
    stderr: '',
    timedOut: false,
    notFound: false,
    durationMs: 1,
    ...partial,
  });
  return {
    calls,
    files,
    commands,
    async run(argv) {
      calls.push([...argv]);
      const c = commands[argv.join(' ')];
      if (c === undefined)
        return result({ exitCode: 127, notFound: true, stderr: `${argv[0]}: command not found` });
      return result(typeof c === 'function' ? c(argv) : c);
    },
    async readFile(path) {
      return files[path] ?? null;
    },
    async readFileBytes(path) {
      const f = files[path];
      return f === undefined ? null : Buffer.from(f);
    },
    async stat(path): Promise<FileStat | null> {
      if (files[path] !== undefined) return { mode: 0o644, size: 0 };
      // A listed command is installed, as an executable in /usr/sbin.
      const bin = /^\/usr\/sbin\/([^/]+)$/.exec(path)?.[1];
      if (bin && Object.keys(commands).some((c) => c.split(' ')[0] === bin))
        return { mode: 0o755, size: 0 };
      return null;
    },
    async writeFileAtomic() {
      throw new Error('the monitor must not write files');
    },
    async appendFile() {
      throw new Error('the monitor must not write files');
    },
    async removeFile() {
      throw new Error('the monitor must not remove files');
    },
    async mkdirp() {
      throw new Error('the monitor must not create folders');
    },
    async listDir() {
      return null;
    },
    uid: () => options.uid ?? 0,
    env: () => undefined,
  };
}

/** Poll until `check` passes or the deadline: frames arrive asynchronously in Ink. */
export async function waitFor<T>(
  read: () => T,
  check: (value: T) => boolean,
  what: string,
  timeoutMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = read();
  while (!check(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last value:\n${String(last)}`);
    await new Promise((r) => setTimeout(r, 10));
    last = read();
  }
  return last;
}

export async function waitForFrame(
  lastFrame: () => string | undefined,
  text: string | RegExp,
  timeoutMs = 3000,
): Promise<string> {
  const has = (f: string | undefined) =>
    f !== undefined && (typeof text === 'string' ? f.includes(text) : text.test(f));
  return (await waitFor(lastFrame, has, `a frame with ${String(text)}`, timeoutMs)) ?? '';
}

export interface TableOptions {
  services?: number;
  servers?: number;
  takenAt?: number;
  /** Added to every server's conns counter (and ×10 to packets, ×1000 to bytes). */
  traffic?: (service: number, server: number) => number;
  weight?: (service: number, server: number) => number;
  forward?: ForwardMethod;
  persistence?: number | null;
  keepalived?: boolean;
  base?: number;
}

/** A synthetic table: services 10.0.<i>.1:80, servers 172.16.<i>.<10+j>:80. */
export function tableSnapshot(o: TableOptions = {}): Snapshot {
  const nServices = o.services ?? 2;
  const nServers = o.servers ?? 3;
  const services = [];
  for (let i = 0; i < nServices; i++) {
    const base = {
      protocol: 'tcp' as const,
      family: 'inet' as const,
      address: `10.0.${i}.1`,
      port: 80,
      fwmark: null,
    };
    const key = serviceKey(base);
    const destinations = [];
    let conns = 0;
    for (let j = 0; j < nServers; j++) {
      const n = (o.base ?? 1000) + (o.traffic?.(i, j) ?? 0);
      conns += n;
      const d = { address: `172.16.${i}.${10 + j}`, port: 80, family: 'inet' as const };
      destinations.push({
        ...d,
        key: destinationKey(key, d),
        forward: o.forward ?? ('route' as const),
        weight: o.weight?.(i, j) ?? 1 + j,
        activeConns: j,
        inactiveConns: 10 * j,
        counters: { conns: n, inPkts: n * 10, outPkts: 0, inBytes: n * 1000, outBytes: 0 },
      });
    }
    services.push({
      ...base,
      key,
      scheduler: 'wrr',
      persistence: o.persistence ?? null,
      flags: [],
      counters: { conns, inPkts: conns * 10, outPkts: 0, inBytes: conns * 1000, outBytes: 0 },
      destinations,
    });
  }
  return {
    takenAt: o.takenAt ?? 1_700_000_000_000,
    host: 'test-director',
    source: 'fixture',
    totals: null,
    services,
    director: {
      vrrp: o.keepalived ? 'MASTER' : 'none',
      keepalived: o.keepalived ?? false,
      vipsPresent: [],
    },
    expireQuiescentTemplate: false,
    warnings: [],
  };
}

/**
 * A source that returns the next snapshot of `make` each time it is read, one second apart, so
 * rates exist from the second reading; `apply` records what it was asked to do.
 */
export function fakeSource(make: (tick: number) => Snapshot): MonitorSource & { reads: number } {
  const source = {
    kind: 'fake',
    reads: 0,
    async read() {
      const s = make(source.reads);
      source.reads++;
      return s;
    },
  };
  return source;
}

/** The recorded Debian 12 (ipvsadm 1.31) fixtures' folder under test/fixtures/ipvsadm/. */
export const DEBIAN12 = 'debian12-ipvsadm-1.31/';

/**
 * A Debian 12 director as recorded (ipvsadm 1.31): its /proc files, a kernel config with HZ, and
 * ipvsadm's --stats/--rate listings; `extra` adds or replaces commands.
 */
export function debianDirector(extra: Record<string, FakeCommand> = {}, uid = 0) {
  return fakeMachine({
    uid,
    files: {
      '/proc/net/ip_vs': fixture(`${DEBIAN12}proc-net-ip_vs.txt`),
      '/proc/net/ip_vs_stats': fixture(`${DEBIAN12}proc-net-ip_vs_stats.txt`),
      '/proc/sys/net/ipv4/vs/expire_quiescent_template': '0\n',
      '/proc/sys/kernel/hostname': 'lvs-deb12\n',
      '/proc/sys/kernel/osrelease': '6.1.0-27-amd64\n',
      '/boot/config-6.1.0-27-amd64':
        '# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n',
    },
    commands: {
      'ipvsadm -Ln --stats --exact': { stdout: fixture(`${DEBIAN12}ipvsadm-Ln-stats-exact.txt`) },
      'ipvsadm -Ln --rate --exact': { stdout: fixture(`${DEBIAN12}ipvsadm-Ln-rate-exact.txt`) },
      'systemctl is-active --quiet keepalived': { exitCode: 0 },
      'ip -j addr show': { stdout: fixture('debian12-ip-j-addr.json') },
      ...extra,
    },
  });
}
