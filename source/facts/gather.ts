import type { Machine } from '../boundary.js';
import {
  parseFirewalldListAll,
  parseIpJsonAddr,
  parseIpJsonRoute,
  parseIpText,
  parseIpTextRoute,
  parseIpvsadmSave,
  parseOsRelease,
  parsePackageQuery,
  parseSystemctlShow,
  parseVersion,
} from './parse.js';
import type {
  SystemFacts,
  FileFact,
  FirewallFacts,
  HostFacts,
  NetworkConfigStyle,
  Nic,
  PackageManager,
  RouteFacts,
} from './types.js';

/** Packages the recipes ask about, per family. */
export const WATCHED_PACKAGES = {
  el: [
    'ipvsadm',
    'keepalived',
    'nginx',
    'nfs-utils',
    'rpcbind',
    'iptables',
    'epel-release',
    'net-tools',
    'firewalld',
    'curl',
  ],
  debian: [
    'ipvsadm',
    'keepalived',
    'nginx',
    'nginx-light',
    'nginx-core',
    'nfs-kernel-server',
    'nfs-common',
    'rpcbind',
    'iptables',
    'curl',
    'firewalld',
    'ufw',
  ],
} as const;

export const WATCHED_UNITS = [
  'firewalld',
  'ufw',
  'nginx',
  'keepalived',
  'ipvsadm',
  'rpcbind',
  'nfs-server',
  'nfs-kernel-server',
  'network',
  'NetworkManager',
  'networking',
  'systemd-networkd',
] as const;

const SYSCTL_PER_IF = ['send_redirects', 'arp_ignore', 'arp_announce', 'rp_filter'] as const;

export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, '/')}`;
}

/** The sysctl keys the recipes look at, for these NICs. */
export function watchedSysctls(nics: string[]): string[] {
  const keys = ['net.ipv4.ip_forward', 'net.ipv4.vs.conntrack'];
  for (const nic of ['all', 'default', 'lo', 'tunl0', ...nics]) {
    for (const k of SYSCTL_PER_IF) keys.push(`net.ipv4.conf.${nic}.${k}`);
  }
  return [...new Set(keys)];
}

async function readNics(m: Machine): Promise<{ nics: Nic[]; routes: RouteFacts }> {
  const addr = await m.run(['ip', '-j', 'addr', 'show']);
  if (addr.exitCode === 0 && addr.stdout.trim().startsWith('[')) {
    const route = await m.run(['ip', '-j', '-4', 'route', 'show']);
    return {
      nics: parseIpJsonAddr(addr.stdout),
      routes: route.exitCode === 0 ? parseIpJsonRoute(route.stdout || '[]') : parseIpTextRoute(''),
    };
  }
  // iproute2 without JSON (CentOS 7).
  const [link, addrText, route] = await Promise.all([
    m.run(['ip', '-o', 'link', 'show']),
    m.run(['ip', '-o', 'addr', 'show']),
    m.run(['ip', '-4', 'route', 'show']),
  ]);
  return {
    nics: parseIpText(link.stdout, addrText.stdout),
    routes: parseIpTextRoute(route.stdout),
  };
}

async function readFirewall(m: Machine, units: HostFacts['services']): Promise<FirewallFacts> {
  if (units.firewalld?.present) {
    const state = await m.run(['firewall-cmd', '--state']);
    if (state.exitCode !== 0) return { kind: 'firewalld', running: false };
    const all = await m.run(['firewall-cmd', '--list-all']);
    const parsed = parseFirewalldListAll(all.stdout);
    return { kind: 'firewalld', running: true, ...parsed };
  }
  if (units.ufw?.present) {
    const st = await m.run(['ufw', 'status']);
    return { kind: 'ufw', running: /Status: active/.test(st.stdout) };
  }
  return { kind: 'none', running: false };
}

function networkStyle(
  os: HostFacts['os'],
  units: HostFacts['services'],
  hasNetplan: boolean,
  hasInterfaces: boolean,
): NetworkConfigStyle {
  if (os.family === 'el') return os.major === 7 ? 'ifcfg' : 'networkmanager';
  if (hasNetplan) return 'netplan';
  if (units.NetworkManager?.active) return 'networkmanager';
  if (hasInterfaces) return 'ifupdown';
  if (units['systemd-networkd']?.present) return 'networkd';
  return 'none';
}

async function readFiles(m: Machine, paths: string[]): Promise<Record<string, FileFact | null>> {
  const out: Record<string, FileFact | null> = {};
  await Promise.all(
    [...new Set(paths)].map(async (p) => {
      const [content, st] = await Promise.all([m.readFile(p), m.stat(p)]);
      out[p] = content === null || !st ? null : { content, mode: st.mode };
    }),
  );
  return out;
}

export interface GatherOptions {
  /** Files to read into facts.files (the plan's steps ask for them). */
  files?: string[];
  /** Also read the hardware summary (cores, memory): for `detect` and the wizard, not per step. */
  system?: boolean;
}

/**
 * systeminformation is good at the OS and hardware summary but takes ~100 ms and blocks the event
 * loop, so it is read only when a person is looking (detect, the wizard), never in the executor.
 */
export async function readSystem(): Promise<SystemFacts | undefined> {
  try {
    const { default: si } = await import('systeminformation');
    const os = await si.osInfo();
    const cpu = await si.cpu();
    const mem = await si.mem();
    return { arch: os.arch, cores: cpu.cores, memoryMiB: Math.round(mem.total / 1048576) };
  } catch {
    return undefined;
  }
}

/** What does not change while an apply runs, unless packages are installed: read once. */
type StableFacts = Pick<
  HostFacts,
  'hostname' | 'os' | 'kernel' | 'packageManager' | 'packages' | 'versions' | 'networkConfig'
>;

async function readStable(m: Machine, services: HostFacts['services']): Promise<StableFacts> {
  const [osText, hostnameText, kernelText, netplanDir, ifaces] = await Promise.all([
    m.readFile('/etc/os-release'),
    m.readFile('/proc/sys/kernel/hostname'),
    m.readFile('/proc/sys/kernel/osrelease'),
    m.listDir('/etc/netplan'),
    m.readFile('/etc/network/interfaces'),
  ]);
  const os = parseOsRelease(osText ?? '');
  const packageManager: PackageManager =
    os.family === 'el' ? (os.major >= 8 ? 'dnf' : 'yum') : os.family === 'debian' ? 'apt' : 'none';
  const watched = os.family === 'el' ? WATCHED_PACKAGES.el : WATCHED_PACKAGES.debian;
  const pkgOut =
    os.family === 'el'
      ? await m.run(['rpm', '-q', '--qf', '%{NAME} %{VERSION}-%{RELEASE}\\n', ...watched])
      : await m.run([
          'dpkg-query',
          '-W',
          '-f=${Package} ${db:Status-Abbrev} ${Version}\\n',
          ...watched,
        ]);
  const packages = parsePackageQuery(pkgOut.stdout, watched, os.family === 'el' ? 'rpm' : 'dpkg');
  // A program's version comes from its package (no process to start: each costs seconds in a
  // slow VM); only a program installed some other way is asked directly.
  const version = async (pkgs: string[], argv: string[]) => {
    const fromPackage = pkgs.map((p) => packages[p]).find((v) => v);
    if (fromPackage) return parseVersion(fromPackage);
    const r = await m.run(argv);
    return r.notFound || r.exitCode !== 0 ? null : parseVersion(`${r.stdout}\n${r.stderr}`);
  };
  const [ipvsadm, keepalived, nginx] = await Promise.all([
    version(['ipvsadm'], ['ipvsadm', '--version']),
    version(['keepalived'], ['keepalived', '--version']),
    version(['nginx', 'nginx-light', 'nginx-core'], ['nginx', '-v']),
  ]);
  return {
    hostname: (hostnameText ?? '').trim(),
    os,
    kernel: (kernelText ?? '').trim(),
    packageManager,
    packages,
    versions: { ipvsadm, keepalived, nginx, node: process.versions.node },
    networkConfig: networkStyle(
      os,
      services,
      (netplanDir ?? []).some((f) => f.endsWith('.yaml')),
      ifaces !== null,
    ),
  };
}

/**
 * Read this host's facts through the machine boundary. Never changes anything. With `previous`,
 * the facts that an apply does not change (OS, packages, versions) are taken from it: the executor
 * refreshes facts after every changed step, and in a slow VM each process costs seconds.
 */
export async function gatherFacts(
  m: Machine,
  options: GatherOptions & { previous?: HostFacts } = {},
): Promise<HostFacts> {
  const [netState, modulesText, ipvsProc, unitsOut, natRules] = await Promise.all([
    readNics(m),
    m.readFile('/proc/modules'),
    m.readFile('/proc/net/ip_vs'),
    m.run([
      'systemctl',
      'show',
      '-p',
      'Id,LoadState,ActiveState,UnitFileState',
      ...WATCHED_UNITS.map((u) => `${u}.service`),
    ]),
    m.run(['iptables', '-w', '-t', 'nat', '-S']),
  ]);
  const services = unitsOut.exitCode === 0 ? parseSystemctlShow(unitsOut.stdout) : {};
  const init = unitsOut.notFound ? 'other' : 'systemd';
  const prev = options.previous;
  const [stable, ipvsSave, firewall] = await Promise.all([
    prev
      ? Promise.resolve<StableFacts>({
          hostname: prev.hostname,
          os: prev.os,
          kernel: prev.kernel,
          packageManager: prev.packageManager,
          packages: prev.packages,
          versions: prev.versions,
          networkConfig: prev.networkConfig,
        })
      : readStable(m, services),
    ipvsProc !== null ? m.run(['ipvsadm', '-Sn']) : Promise.resolve(null),
    readFirewall(m, services),
  ]);
  const kernel = stable.kernel;
  const ipvsModule =
    ipvsProc !== null ||
    prev?.ipvs.available === true ||
    (await m.stat(`/lib/modules/${kernel}/kernel/net/netfilter/ipvs/ip_vs.ko`)) !== null ||
    (await m.stat(`/lib/modules/${kernel}/kernel/net/netfilter/ipvs/ip_vs.ko.xz`)) !== null ||
    (await m.stat(`/lib/modules/${kernel}/kernel/net/netfilter/ipvs/ip_vs.ko.zst`)) !== null;

  const sysctl: Record<string, string> = {};
  const keys = watchedSysctls(netState.nics.map((n) => n.name));
  await Promise.all(
    keys.map(async (k) => {
      const v = await m.readFile(sysctlPath(k));
      if (v !== null) sysctl[k] = v.trim();
    }),
  );

  const ssh = m.env('SSH_CONNECTION')?.split(/\s+/)[2] ?? null;
  return {
    source: 'live',
    ...stable,
    init,
    firewall,
    nics: netState.nics,
    routes: netState.routes,
    ipvs: {
      available: ipvsModule,
      loaded: ipvsProc !== null,
      services: ipvsSave && ipvsSave.exitCode === 0 ? parseIpvsadmSave(ipvsSave.stdout) : null,
    },
    sysctl,
    modules: (modulesText ?? '')
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter(Boolean),
    services,
    iptablesNat: natRules.exitCode === 0 ? natRules.stdout.split('\n').filter(Boolean) : null,
    files: await readFiles(m, options.files ?? []),
    uid: m.uid(),
    sshLocalAddress: ssh,
    ...(options.system ? { system: await readSystem() } : {}),
  };
}

/**
 * The executor's refresh after a changed step: everything an apply can change, re-read; the OS,
 * packages and versions re-read only after the packages step.
 */
export function refreshAfterStep(
  m: Machine,
  files: string[],
): (previous: HostFacts, changed: { recipe: string }) => Promise<HostFacts> {
  return (previous, changed) =>
    gatherFacts(m, { files, ...(changed.recipe === 'packages' ? {} : { previous }) });
}

/** Re-read only the files (cheap) on top of existing facts. */
export async function withFiles(m: Machine, facts: HostFacts, paths: string[]): Promise<HostFacts> {
  return { ...facts, files: { ...facts.files, ...(await readFiles(m, paths)) } };
}
