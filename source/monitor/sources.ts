import { connect } from 'node:net';
import type { Machine, RunResult } from '../boundary.js';
import { parseIpJsonAddr } from '../facts/parse.js';
import {
  serviceKey,
  type Counters,
  type DirectorState,
  type Health,
  type ServiceSnapshot,
  type Snapshot,
  type VrrpState,
} from './model.js';
import {
  canonicalIpv6,
  parseIpvsadmList,
  parseIpvsadmRate,
  parseIpvsadmStats,
  parseFibTrieLocal,
  parseIfInet6,
  parseKernelHz,
  parseProcIpVs,
  parseProcIpVsStats,
  LineReuse,
  listingReuse,
  withKernelHz,
  type ParsedDestination,
  type ParsedIpvsStats,
  type ParsedTable,
} from './parse.js';
import { ipvsadmReader, IPVSADM_TIMEOUT_MS, type CounterReader } from './counter-reader.js';
import { COUNTER_PERIOD_MS, countersTime } from './rates.js';
import { buildSnapshot, SnapshotReuse, withHealth } from './snapshot.js';
import type { MonitorSource } from './source-types.js';

export type { MonitorSource } from './source-types.js';
export { createDemoSource, type DemoOptions, type DemoSource } from './demo.js';

export const PROC_IP_VS = '/proc/net/ip_vs';
export const PROC_IP_VS_STATS = '/proc/net/ip_vs_stats';
const PROC_FIB_TRIE = '/proc/net/fib_trie';
const PROC_IF_INET6 = '/proc/net/if_inet6';
const PROC_EXPIRE_QUIESCENT = '/proc/sys/net/ipv4/vs/expire_quiescent_template';

/** Checks a real server; the TCP probe below, or a fake in tests. */
export type HealthProbe = (address: string, port: number) => Promise<Health>;

export interface IpvsSourceOptions {
  /** Shown in the header; read from /proc/sys/kernel/hostname when absent. */
  host?: string;
  /** VIPs to look for besides the services' own (e.g. the lab file's), for the VRRP state. */
  vips?: string[];
  /** How often keepalived and the VIPs are looked at again. Default 5 s. */
  directorRefreshMs?: number;
  /**
   * How often the traffic counters are read (one `ipvsadm` each time). Default COUNTER_PERIOD_MS,
   * the kernel's own period: reading more often only repeats the same numbers.
   */
  countersEveryMs?: number;
  now?: () => number;
  /** Opt-in health checks; each server is probed at most every `healthEveryMs` (default 5 s). */
  healthProbe?: HealthProbe;
  healthEveryMs?: number;
  /**
   * Who reads the servers' counters (`--stats`, and `--rate` for the first reading): the netlink
   * helper (see counter-reader.ts) where it runs, else ipvsadm, the default.
   */
  counters?: CounterReader;
}

export type IpvsAvailability = { ok: true } | { ok: false; message: string };

const DEMO_HINT = 'To see the monitor without IPVS, run: lvs-setup monitor --demo';

/** Where `name` is on PATH (as execve's lookup finds it), or null: one stat a folder, no process. */
export async function findOnPath(machine: Machine, name: string): Promise<string | null> {
  const path =
    machine.env('PATH') || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  for (const dir of path.split(':')) {
    if (!dir.startsWith('/')) continue;
    const candidate = `${dir.replace(/\/+$/, '')}/${name}`;
    const st = await machine.stat(candidate);
    if (st !== null && (st.mode & 0o111) !== 0) return candidate;
  }
  return null;
}

/**
 * Whether this host can be monitored: the ip_vs module is loaded (/proc/net/ip_vs exists) and
 * ipvsadm is installed (found on PATH: no process, the first reading runs it anyway). The
 * message says what is missing and how to see the demo instead.
 */
export async function checkIpvsAvailable(machine: Machine): Promise<IpvsAvailability> {
  const [proc, ipvsadm] = await Promise.all([
    machine.stat(PROC_IP_VS),
    findOnPath(machine, 'ipvsadm'),
  ]);
  const missing: string[] = [];
  if (proc === null) {
    missing.push(
      `${PROC_IP_VS} does not exist: the ip_vs kernel module is not loaded (modprobe ip_vs), or this kernel has no IPVS (containers and WSL often do not).`,
    );
  }
  if (ipvsadm === null) {
    missing.push('ipvsadm is not installed (yum/dnf/apt install ipvsadm).');
  }
  if (missing.length === 0) return { ok: true };
  return {
    ok: false,
    message: `Cannot monitor IPVS on this host:\n  ${missing.join('\n  ')}\n${DEMO_HINT}`,
  };
}

function firstLine(r: RunResult): string {
  return (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
}

function ipvsadmWarning(r: RunResult, uid: number): string {
  if (r.notFound)
    return 'ipvsadm is not installed: per-server traffic is unknown (install ipvsadm).';
  if (
    /permission denied|must be root|operation not permitted/i.test(`${r.stderr}${r.stdout}`) ||
    uid !== 0
  ) {
    return 'ipvsadm needs root for traffic counters: run the monitor with sudo.';
  }
  if (r.timedOut) return 'ipvsadm timed out: traffic counters are missing from this reading.';
  return `ipvsadm failed (exit ${r.exitCode}): ${firstLine(r)}`;
}

/** Local addresses from `ip -j addr` (iproute2 ≥ 4.14), else `ip -o addr` (EL7's iproute2). */
async function localAddresses(machine: Machine): Promise<Set<string> | null> {
  const norm = (a: string) => (a.includes(':') ? canonicalIpv6(a) : a);
  const json = await machine.run(['ip', '-j', 'addr', 'show'], { timeoutMs: 5000 });
  if (json.exitCode === 0) {
    try {
      return new Set(
        parseIpJsonAddr(json.stdout).flatMap((n) => n.addresses.map((a) => norm(a.address))),
      );
    } catch {
      // Old iproute2 ignores -j and prints text: fall through.
    }
  }
  const text = await machine.run(['ip', '-o', 'addr', 'show'], { timeoutMs: 5000 });
  if (text.exitCode !== 0) return null;
  const out = new Set<string>();
  for (const m of text.stdout.matchAll(/\binet6?\s+([0-9A-Fa-f.:]+)\//g)) {
    try {
      out.add(norm(m[1] ?? ''));
    } catch {
      // Not an address after all.
    }
  }
  return out;
}

/**
 * Local addresses from /proc (no process: the monitor looks every few seconds): IPv4 from
 * /proc/net/fib_trie's host routes, IPv6 from /proc/net/if_inet6. Null when /proc lacks them.
 */
async function procAddresses(machine: Machine): Promise<Set<string> | null> {
  const [trie, inet6] = await Promise.all([
    machine.readFile(PROC_FIB_TRIE),
    machine.readFile(PROC_IF_INET6),
  ]);
  if (trie === null) return null;
  return new Set([...parseFibTrieLocal(trie), ...(inet6 === null ? [] : parseIfInet6(inet6))]);
}

const KEEPALIVED_PID_FILES = ['/run/keepalived.pid', '/var/run/keepalived.pid'];
/**
 * systemd's cgroup of each unit, by hierarchy (unified cgroup v2; v1's named systemd one, EL7):
 * a unit's folder exists while the unit has processes, and systemd removes it when it stops.
 */
const SYSTEMD_SLICES = ['/sys/fs/cgroup/system.slice', '/sys/fs/cgroup/systemd/system.slice'];
/** How long a "not running" from systemctl is trusted when nothing else can tell. */
const SYSTEMCTL_RECHECK_MS = 60_000;

/**
 * Whether keepalived runs, without starting a process where the system can tell by itself: its
 * pid file names a live process (keepalived writes one wherever it runs, under systemd or not);
 * without one (keepalived started with another -p path, or not running), systemd's cgroup of
 * keepalived.service exists. Only where neither exists (no systemd cgroup tree: a container)
 * does `systemctl is-active` answer, asked at most once a minute.
 */
function keepalivedWatcher(machine: Machine, now: () => number) {
  let systemctl: { running: boolean; at: number } | null = null;
  let slice: string | null | undefined;
  return async (): Promise<boolean> => {
    let pidFileSeen = false;
    for (const path of KEEPALIVED_PID_FILES) {
      const pid = (await machine.readFile(path))?.trim();
      if (!pid || !/^\d+$/.test(pid)) continue;
      pidFileSeen = true;
      if ((await machine.stat(`/proc/${pid}`)) !== null) return true;
    }
    // A pid file whose process is gone: keepalived died (or stopped without removing it).
    if (pidFileSeen) return false;
    if (slice === undefined) {
      slice = null;
      for (const s of SYSTEMD_SLICES) {
        if ((await machine.stat(s)) !== null) {
          slice = s;
          break;
        }
      }
    }
    if (slice !== null) return (await machine.stat(`${slice}/keepalived.service`)) !== null;
    const t = now();
    if (systemctl && t - systemctl.at < SYSTEMCTL_RECHECK_MS) return systemctl.running;
    const r = await machine.run(['systemctl', 'is-active', '--quiet', 'keepalived'], {
      timeoutMs: 5000,
    });
    systemctl = { running: !r.notFound && r.exitCode === 0, at: t };
    return systemctl.running;
  };
}

/**
 * MASTER when keepalived runs and this host holds a service VIP; BACKUP when keepalived runs
 * without one; none when keepalived does not run (a single director owns its VIPs by hand).
 */
export function vrrpState(
  keepalived: boolean,
  vips: readonly string[],
  present: readonly string[],
): VrrpState {
  if (!keepalived) return 'none';
  if (vips.length === 0) return 'unknown';
  return present.length > 0 ? 'MASTER' : 'BACKUP';
}

function sameDirector(a: DirectorState, b: DirectorState): boolean {
  return (
    a === b ||
    (a.vrrp === b.vrrp &&
      a.keepalived === b.keepalived &&
      a.vipsPresent.join(' ') === b.vipsPresent.join(' '))
  );
}

/** How long ipvsadm may be skipped while nothing moves (see createIpvsSource's read). */
export const QUIET_RECHECK_MS = 10_000;

function sameCounters(a: Counters, b: Counters): boolean {
  return (
    a.conns === b.conns &&
    a.inPkts === b.inPkts &&
    a.outPkts === b.outPkts &&
    a.inBytes === b.inBytes &&
    a.outBytes === b.outBytes
  );
}

/** Which services and servers the table has (not their weights or connections). */
function shapeOf(table: ParsedTable): string {
  return table.services
    .map((s) => `${serviceKey(s)}>${s.destinations.map((d) => `${d.address}|${d.port}`).join(',')}`)
    .join(';');
}

function serviceVips(services: readonly ServiceSnapshot[], extra: readonly string[]): string[] {
  return [
    ...new Set([
      ...services.filter((s) => s.protocol !== 'fwmark').map((s) => s.address),
      ...extra,
    ]),
  ];
}

/**
 * The real source. Per reading: /proc/net/ip_vs (shape, weights, connections; no root needed)
 * and /proc/net/ip_vs_stats (totals); `ipvsadm -Ln --stats --exact` (the servers' counters)
 * only as often as the kernel updates them (every 2 s), so at 1 Hz one process every other
 * second. The first reading also asks for `--rate` so the first frame has rates before two
 * counter readings exist. keepalived and the VIPs are looked at every few seconds, in /proc.
 */
export function createIpvsSource(machine: Machine, options: IpvsSourceOptions = {}): MonitorSource {
  const now = options.now ?? Date.now;
  const directorRefreshMs = options.directorRefreshMs ?? 5000;
  const healthEveryMs = options.healthEveryMs ?? 5000;
  const countersEveryMs = options.countersEveryMs ?? COUNTER_PERIOD_MS;
  const keepalivedRunning = keepalivedWatcher(machine, now);
  const reader = options.counters ?? ipvsadmReader(machine);
  /** The last reading made from /proc, and the texts it was made from. */
  let last: { procText: string; eqt: string | null; snapshot: Snapshot } | null = null;
  /** The last counters read, reused until the kernel has new ones (see countersEveryMs). */
  let counters: {
    stats: ParsedTable | null;
    totals: ParsedIpvsStats | null;
    warning: string | null;
    /** When the counters were last known current (read, or confirmed unchanged: see quiet). */
    at: number;
    /** When ipvsadm last ran, what it printed, and the table it was run against. */
    ranAt: number;
    statsText: string;
    procText: string | null;
    shape: string | null;
    /** Its last two outputs were the same, with the same kernel totals: nothing moves. */
    quiet: boolean;
  } | null = null;
  let host = options.host ?? null;
  let first = true;
  let director: { state: DirectorState; at: number; vips: string } | null = null;
  const health = new Map<string, { health: Health; at: number; pending: boolean }>();
  let hz: number | null = null;
  // The last texts' lines: only changed lines are parsed again (see LineReuse).
  const procReuse = new LineReuse<ParsedDestination>();
  const statsReuse = listingReuse();
  const snapshotReuse = new SnapshotReuse();
  let hzFromConfigTried = false;
  let hzMeasureTried = false;

  /**
   * The kernel's HZ, which /proc/net/ip_vs's persistence timeouts are counted in: CONFIG_HZ from
   * /boot/config-<release> (Debian, EL, Ubuntu ship it), else measured once by comparing a
   * persistent service's jiffies with what `ipvsadm -Ln` says in seconds. Null while unknown.
   */
  async function kernelHz(table: ParsedTable): Promise<number | null> {
    if (hz !== null) return hz;
    if (!hzFromConfigTried) {
      hzFromConfigTried = true;
      const release = (await machine.readFile('/proc/sys/kernel/osrelease'))?.trim();
      const config = release ? await machine.readFile(`/boot/config-${release}`) : null;
      hz = config ? parseKernelHz(config) : null;
      if (hz !== null) return hz;
    }
    const persistent = table.services.find((s) => s.persistenceJiffies !== undefined);
    // Measured once: a failing ipvsadm is not run again every second for it.
    if (!persistent || hzMeasureTried) return null;
    hzMeasureTried = true;
    const list = await machine.run(['ipvsadm', '-Ln'], { timeoutMs: IPVSADM_TIMEOUT_MS });
    if (list.exitCode !== 0) return null;
    const key = serviceKey(persistent);
    const same = parseIpvsadmList(list.stdout).services.find((s) => serviceKey(s) === key);
    if (same?.persistence && persistent.persistenceJiffies) {
      hz = Math.round(persistent.persistenceJiffies / same.persistence);
    }
    return hz;
  }

  /** /proc/net/ip_vs parsed; ipvsadm's own listing (same columns) where /proc hides it. */
  async function parseTable(procText: string | null): Promise<ParsedTable> {
    if (procText !== null) return parseProcIpVs(procText, hz, procReuse);
    // Some hardened kernels hide /proc/net/ip_vs; ipvsadm's own listing has the same columns.
    const list = await machine.run(['ipvsadm', '-Ln'], { timeoutMs: IPVSADM_TIMEOUT_MS });
    if (list.exitCode !== 0) {
      throw new Error(
        `Cannot read the IPVS table: ${PROC_IP_VS} is missing and ipvsadm -Ln failed (${firstLine(list) || `exit ${list.exitCode}`}).\n${DEMO_HINT}`,
      );
    }
    return parseIpvsadmList(list.stdout);
  }

  async function readDirector(services: readonly ServiceSnapshot[]): Promise<DirectorState> {
    const vips = serviceVips(services, options.vips ?? []);
    const vipKey = vips.join(' ');
    const t = now();
    if (director && director.vips === vipKey && t - director.at < directorRefreshMs)
      return director.state;
    const [keepalived, addresses] = await Promise.all([
      keepalivedRunning(),
      procAddresses(machine).then((a) => a ?? localAddresses(machine)),
    ]);
    const present = addresses ? vips.filter((v) => addresses.has(v)) : [];
    const state: DirectorState = {
      vrrp: addresses ? vrrpState(keepalived, vips, present) : keepalived ? 'unknown' : 'none',
      keepalived,
      vipsPresent: present,
    };
    director = { state, at: t, vips: vipKey };
    return state;
  }

  function applyHealth(services: ServiceSnapshot[]): void {
    const probe = options.healthProbe;
    if (!probe) return;
    const t = now();
    for (const s of services) {
      s.destinations = withHealth(s.destinations, (d) =>
        d.port === 0 ? undefined : health.get(`${d.address}|${d.port}`)?.health,
      );
      for (const d of s.destinations) {
        // A fwmark service's servers have port 0: nothing to connect to.
        if (d.port === 0) continue;
        const id = `${d.address}|${d.port}`;
        const known = health.get(id);
        if (known?.pending || (known && t - known.at < healthEveryMs)) continue;
        const entry = { health: known?.health ?? ('up' as Health), at: t, pending: true };
        health.set(id, entry);
        // Not awaited: a slow server must not hold up the frame; the result shows next tick.
        void probe(d.address, d.port).then(
          (h) => health.set(id, { health: h, at: now(), pending: false }),
          () => health.set(id, { health: 'down', at: now(), pending: false }),
        );
      }
    }
  }

  return {
    kind: 'ipvs',
    countersPeriodMs: countersEveryMs,
    close: () => reader.close(),
    async read(): Promise<Snapshot> {
      const wantRate = first;
      first = false;
      // A little early is still a new kernel period: ticks drift later, never earlier.
      const due = counters === null || now() - counters.at >= countersEveryMs * 0.9;
      const [procText, totalsText, rateRun, eqt, hostname] = await Promise.all([
        machine.readFile(PROC_IP_VS),
        // The totals come from the same estimator as the servers' counters: read with them.
        due ? machine.readFile(PROC_IP_VS_STATS) : null,
        wantRate ? reader.read('rate') : null,
        machine.readFile(PROC_EXPIRE_QUIESCENT),
        host === null ? machine.readFile('/proc/sys/kernel/hostname') : null,
      ]);
      const takenAt = now();
      if (host === null) host = hostname?.trim() || 'localhost';
      const totals = totalsText !== null ? parseProcIpVsStats(totalsText) : null;

      // The table, parsed only when /proc/net/ip_vs changed (or to see its shape, below).
      let parsed: ParsedTable | null = null;
      const table = async (): Promise<ParsedTable> => (parsed ??= await parseTable(procText));

      // Counters are due. ipvsadm is skipped while nothing moves: the kernel counts every packet
      // and connection of every server in its totals too (/proc/net/ip_vs_stats), so when the
      // totals, the table's shape and ipvsadm's last two outputs have not changed, its output
      // would not either. It runs again at once when any of them changes, and at least every
      // QUIET_RECHECK_MS (a single service's counters zeroed by hand leave the totals alone).
      let ran = false;
      if (due) {
        const c = counters;
        const quiet =
          c !== null &&
          c.quiet &&
          totals !== null &&
          c.totals !== null &&
          sameCounters(totals.totals, c.totals.totals) &&
          takenAt - c.ranAt < QUIET_RECHECK_MS &&
          procText !== null &&
          (procText === c.procText || (c.shape !== null && shapeOf(await table()) === c.shape));
        if (quiet) {
          counters = { ...c, at: takenAt };
        } else {
          ran = true;
          const statsRun = await reader.read('stats');
          const ok = statsRun.exitCode === 0;
          // The same text, the same numbers: its parse is reused.
          const previous = ok && c?.stats && statsRun.stdout === c.statsText ? c : null;
          counters = {
            stats: ok ? (previous?.stats ?? parseIpvsadmStats(statsRun.stdout, statsReuse)) : null,
            totals,
            warning: ok ? null : ipvsadmWarning(statsRun, machine.uid()),
            at: takenAt,
            ranAt: takenAt,
            statsText: ok ? statsRun.stdout : '',
            procText,
            shape: procText === null ? null : shapeOf(await table()),
            quiet:
              previous !== null &&
              totals !== null &&
              previous.totals !== null &&
              sameCounters(totals.totals, previous.totals.totals),
          };
        }
      }

      // Nothing new since the last reading (no new counters, the same /proc table, the same
      // director): that reading again, re-dated, sharing its services so the screen redraws
      // only its clock (and, when counters were confirmed unchanged, adds a sparkline sample).
      // Not with health probes, whose answers arrive between readings.
      // The director as read for that check (the same table, so the same VIPs), kept for below.
      let directorNow: DirectorState | null = null;
      if (
        last &&
        procText !== null &&
        procText === last.procText &&
        !ran &&
        !rateRun &&
        eqt === last.eqt &&
        !options.healthProbe
      ) {
        const director = await readDirector(last.snapshot.services);
        directorNow = director;
        if (sameDirector(director, last.snapshot.director)) {
          return {
            ...last.snapshot,
            takenAt,
            countersAt: counters ? counters.at : countersTime(last.snapshot),
          };
        }
      }
      const warnings: string[] = [];
      const current = await table();
      if (current.services.some((s) => s.persistenceJiffies !== undefined)) {
        const known = await kernelHz(current);
        if (known) withKernelHz(current, known);
        else
          warnings.push(
            'Persistence timeouts are unknown: /proc/net/ip_vs counts them in kernel ticks, and neither the kernel config nor ipvsadm -Ln told how long a tick is.',
          );
      }

      const stats = counters?.stats ?? null;
      if (counters?.warning) warnings.push(counters.warning);
      // The helper gave way while ipvsadm reads fine: worth a line (it costs more CPU), once
      // its reason is known; when ipvsadm fails too, its own warning above says what to do.
      else if (reader.handedOver)
        warnings.push(`Counters are read with ipvsadm: ${reader.handedOver}.`);
      const rates = rateRun && rateRun.exitCode === 0 ? parseIpvsadmRate(rateRun.stdout) : null;

      const snapshot = buildSnapshot({
        takenAt,
        host,
        source: 'ipvs',
        table: current,
        stats,
        rates,
        ipvsStats: counters?.totals ?? null,
        director: { vrrp: 'unknown', keepalived: false, vipsPresent: [] },
        expireQuiescentTemplate: eqt === null ? null : eqt.trim() === '1',
        warnings,
        reuse: snapshotReuse,
      });
      if (counters && counters.at !== takenAt) snapshot.countersAt = counters.at;
      snapshot.countersFrom = reader.via;
      if (reader.handedOver) snapshot.countersHandover = reader.handedOver;
      snapshot.director = directorNow ?? (await readDirector(snapshot.services));
      applyHealth(snapshot.services);
      last = procText === null ? null : { procText, eqt, snapshot };
      return snapshot;
    },
  };
}

/**
 * A TCP connect probe (opt-in: probing every server costs connections on them). A network
 * check rather than a command, so it does not go through the Machine.
 */
export function createTcpProbe(timeoutMs = 1000): HealthProbe {
  return (address, port) =>
    new Promise<Health>((resolve) => {
      const socket = connect({ host: address, port });
      const done = (h: Health) => {
        socket.destroy();
        resolve(h);
      };
      socket.setTimeout(timeoutMs, () => done('down'));
      socket.once('connect', () => done('up'));
      socket.once('error', () => done('down'));
    });
}
