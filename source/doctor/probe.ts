import pLimit from 'p-limit';
import type { Machine, RunResult } from '../boundary.js';
import { parseSysctlLines } from '../facts/parse.js';
import type { HostFacts } from '../facts/types.js';
import { isDirector } from './model.js';
import { parseIsEnabled, parseSs, parseTcpdumpVrrp, type Listener } from './parse.js';
import type {
  DoctorModel,
  FileProbe,
  ProbeResults,
  ReachResult,
  ReachStatus,
  VrrpSniff,
} from './types.js';

/**
 * What doctor reads beyond the facts, through the Machine only (argv arrays, never a shell).
 * Two phases: `probeBasics` (files, units, sockets: needed to infer the role) and `probeActive`
 * (connects to the real servers, listens for VRRP adverts: needs the model).
 */

export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
export const IPVSADM_RULES = {
  el: '/etc/sysconfig/ipvsadm',
  debian: '/etc/ipvsadm.rules',
} as const;
export const IPVSADM_DEFAULTS = '/etc/default/ipvsadm';
export const EXPORTS = '/etc/exports';
const SYSCTL_CONF = '/etc/sysctl.conf';
const SYSCTL_DIR = '/etc/sysctl.d';

export function rulesPath(facts: HostFacts): string {
  return facts.os.family === 'debian' ? IPVSADM_RULES.debian : IPVSADM_RULES.el;
}

async function readProbe(m: Machine, path: string): Promise<FileProbe> {
  const [st, content] = await Promise.all([m.stat(path), m.readFile(path)]);
  return { path, present: st !== null || content !== null, content };
}

async function listeners(m: Machine): Promise<Listener[] | null> {
  const out: Listener[] = [];
  for (const [flag, protocol] of [
    ['-ltn', 'tcp'],
    ['-lun', 'udp'],
  ] as const) {
    let r = await m.run(['ss', `${flag}H`], { timeoutMs: 5000 });
    // iproute2 before 4.x (CentOS 7) has no -H: ask again and skip the header.
    if (!r.notFound && r.exitCode !== 0) r = await m.run(['ss', flag], { timeoutMs: 5000 });
    if (r.notFound || r.exitCode !== 0) return null;
    out.push(...parseSs(r.stdout, protocol));
  }
  return out;
}

async function unitEnabled(m: Machine, unit: string): Promise<string | null> {
  const r = await m.run(['systemctl', 'is-enabled', `${unit}.service`], { timeoutMs: 5000 });
  if (r.notFound) return null;
  return parseIsEnabled(r.stdout);
}

async function persistedSysctls(m: Machine): Promise<ProbeResults['sysctlPersisted']> {
  // systemd-sysctl order: files sorted by name, /etc/sysctl.conf last (it is 99-sysctl.conf).
  const names = ((await m.listDir(SYSCTL_DIR)) ?? []).filter((n) => n.endsWith('.conf')).sort();
  const paths = [...names.map((n) => `${SYSCTL_DIR}/${n}`), SYSCTL_CONF];
  const out: ProbeResults['sysctlPersisted'] = {};
  for (const path of paths) {
    const text = await m.readFile(path);
    if (text === null) continue;
    for (const [k, v] of Object.entries(parseSysctlLines(text))) {
      out[k.replace(/\//g, '.')] = { value: v, file: path };
    }
  }
  return out;
}

/** Files, units and sockets: everything needed before the role is known. */
export async function probeBasics(
  m: Machine,
  facts: HostFacts,
): Promise<Omit<ProbeResults, 'reach' | 'vrrp'>> {
  const [
    keepalivedConf,
    ipvsRules,
    ipvsadmDefaults,
    exportsFile,
    ipvsadm,
    keepalived,
    socks,
    sysctls,
  ] = await Promise.all([
    readProbe(m, KEEPALIVED_CONF),
    readProbe(m, rulesPath(facts)),
    facts.os.family === 'debian'
      ? readProbe(m, IPVSADM_DEFAULTS)
      : Promise.resolve({ path: IPVSADM_DEFAULTS, present: false, content: null }),
    readProbe(m, EXPORTS),
    unitEnabled(m, 'ipvsadm'),
    unitEnabled(m, 'keepalived'),
    listeners(m),
    persistedSysctls(m),
  ]);
  return {
    listeners: socks,
    keepalivedConf,
    ipvsRules,
    ipvsadmDefaults,
    unitEnabled: { ipvsadm, keepalived },
    exports: exportsFile,
    sysctlPersisted: sysctls,
  };
}

function classifyCurl(r: RunResult): { status: ReachStatus; detail: string } {
  const err = r.stderr.trim().split('\n').pop() ?? '';
  if (r.timedOut) return { status: 'timeout', detail: 'no answer within the time limit' };
  if (r.exitCode === 0) return { status: 'open', detail: 'connected and got an HTTP answer' };
  if (r.exitCode === 7) {
    if (/no route|unreachable/i.test(err)) return { status: 'unreachable', detail: err };
    return { status: 'refused', detail: err || 'connection refused' };
  }
  if (r.exitCode === 28) {
    // "Operation timed out … with 0 bytes received" means it connected but the reply was slow.
    if (/Operation timed out/i.test(err) && !/Connection timed out|Failed to connect/i.test(err))
      return { status: 'open', detail: 'connected (no complete HTTP answer in time)' };
    return { status: 'timeout', detail: err || 'connection timed out' };
  }
  // Any other failure (empty reply, not HTTP …) happened after the connection was made.
  return { status: 'open', detail: `connected (curl exit ${r.exitCode}: not an HTTP answer)` };
}

function classifyNc(r: RunResult): { status: ReachStatus; detail: string } {
  const err = r.stderr.trim().split('\n').pop() ?? '';
  if (r.exitCode === 0) return { status: 'open', detail: 'connected' };
  if (r.timedOut || /timed out/i.test(err))
    return { status: 'timeout', detail: err || 'timed out' };
  if (/no route|unreachable/i.test(err)) return { status: 'unreachable', detail: err };
  return { status: 'refused', detail: err || `nc exit ${r.exitCode}` };
}

/** One TCP connect: `curl` (installed on every lab host) else `nc -z`; argv only. */
async function reachOne(
  m: Machine,
  address: string,
  port: number,
): Promise<{ status: ReachStatus; detail: string }> {
  const curl = await m.run(
    [
      'curl',
      '-sS',
      '--noproxy',
      '*',
      '-o',
      '/dev/null',
      '--connect-timeout',
      '2',
      '-m',
      '4',
      `http://${address}:${port}/`,
    ],
    { timeoutMs: 6000 },
  );
  if (!curl.notFound) return classifyCurl(curl);
  const nc = await m.run(['nc', '-z', '-w', '2', address, String(port)], { timeoutMs: 5000 });
  if (!nc.notFound) return classifyNc(nc);
  return { status: 'skipped', detail: 'neither curl nor nc is installed' };
}

export interface ActiveOptions {
  /** Seconds to listen for VRRP adverts (0 = do not listen). */
  vrrpSeconds?: number;
  /**
   * At most this many real servers are tried (in lab order; the rest are reported as not
   * tried). Default: all. apply and the wizard try a sample: a director of 1,000 real servers
   * must not wait for 1,000 connections after every apply.
   */
  reachLimit?: number;
}

/** Connections tried at once: each is a process (curl), and a small VM has little memory. */
export const REACH_CONCURRENCY = 16;

async function sniffVrrp(
  m: Machine,
  facts: HostFacts,
  model: DoctorModel,
  seconds: number,
): Promise<VrrpSniff> {
  if (seconds <= 0) return { status: 'skipped', reason: 'listening for VRRP was turned off' };
  const nic = model.ha?.interface ?? null;
  if (!nic) return { status: 'skipped', reason: 'no VRRP interface is known' };
  if (!facts.nics.some((n) => n.name === nic))
    return { status: 'skipped', reason: `interface ${nic} does not exist on this host` };
  if (m.uid() !== 0) return { status: 'skipped', reason: 'capturing packets needs root (sudo)' };
  const version = await m.run(['tcpdump', '--version'], { timeoutMs: 5000 });
  if (version.notFound)
    return {
      status: 'skipped',
      reason: `tcpdump is not installed, so doctor cannot listen for other VRRP routers (install it: ${facts.os.family === 'debian' ? 'apt-get install tcpdump' : 'yum install tcpdump'})`,
    };
  // tcpdump stops after 20 adverts or when the time limit ends it (and its process group).
  const r = await m.run(['tcpdump', '-l', '-nn', '-p', '-i', nic, '-c', '20', 'vrrp'], {
    timeoutMs: seconds * 1000,
  });
  if (!r.timedOut && r.exitCode !== 0 && r.stdout.trim() === '')
    return {
      status: 'skipped',
      reason: `tcpdump failed: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`}`,
    };
  return { status: 'listened', interface: nic, seconds, adverts: parseTcpdumpVrrp(r.stdout) };
}

/** Connects to the real servers (directors) and listens for VRRP adverts (HA directors). */
export async function probeActive(
  m: Machine,
  facts: HostFacts,
  model: DoctorModel,
  options: ActiveOptions = {},
): Promise<Pick<ProbeResults, 'reach' | 'vrrp'>> {
  let reach: ReachResult[] | null = null;
  if (isDirector(model)) {
    const targets = model.directed.flatMap((s) => s.realServers.map((rs) => ({ s, rs })));
    const seen = new Map<string, Promise<{ status: ReachStatus; detail: string }>>();
    const limit = pLimit(REACH_CONCURRENCY);
    const max = options.reachLimit ?? Number.POSITIVE_INFINITY;
    let tried = 0;
    reach = await Promise.all(
      targets.map(async ({ s, rs }) => {
        const base = {
          service: s.name,
          host: rs.host,
          address: rs.address,
          port: rs.port,
          protocol: s.protocol,
        };
        if (s.protocol === 'udp')
          return { ...base, status: 'skipped' as const, detail: 'UDP has no handshake to test' };
        const key = `${rs.address}:${rs.port}`;
        let p = seen.get(key);
        if (!p) {
          if (tried >= max)
            return {
              ...base,
              status: 'skipped' as const,
              detail: `not tried (only the first ${max} real servers are tried here; lvs-setup doctor tries all)`,
            };
          tried += 1;
          p = limit(() => reachOne(m, rs.address, rs.port));
          seen.set(key, p);
        }
        return { ...base, ...(await p) };
      }),
    );
  }
  const vrrp = model.ha ? await sniffVrrp(m, facts, model, options.vrrpSeconds ?? 3) : null;
  return { reach, vrrp };
}
