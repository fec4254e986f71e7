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

/** Read this host's facts through the machine boundary. Never changes anything. */
export async function gatherFacts(m: Machine, options: GatherOptions = {}): Promise<HostFacts> {
  const [osText, hostnameText, kernelText, netState, modulesText, ipvsProc] = await Promise.all([
    m.readFile('/etc/os-release'),
    m.readFile('/proc/sys/kernel/hostname'),
    m.readFile('/proc/sys/kernel/osrelease'),
    readNics(m),
    m.readFile('/proc/modules'),
    m.readFile('/proc/net/ip_vs'),
  ]);
  const os = parseOsRelease(osText ?? '');
  const packageManager: PackageManager =
    os.family === 'el' ? (os.major >= 8 ? 'dnf' : 'yum') : os.family === 'debian' ? 'apt' : 'none';
  const kernel = (kernelText ?? '').trim();

  const unitsOut = await m.run([
    'systemctl',
    'show',
    '-p',
    'Id,LoadState,ActiveState,UnitFileState',
    ...WATCHED_UNITS.map((u) => `${u}.service`),
  ]);
  const services = unitsOut.exitCode === 0 ? parseSystemctlShow(unitsOut.stdout) : {};
  const init = unitsOut.notFound ? 'other' : 'systemd';

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

  const [ipvsadmV, keepalivedV, nginxV, ipvsSave, natRules, netplanDir, ifaces, firewall] =
    await Promise.all([
      m.run(['ipvsadm', '--version']),
      m.run(['keepalived', '--version']),
      m.run(['nginx', '-v']),
      ipvsProc !== null ? m.run(['ipvsadm', '-Sn']) : Promise.resolve(null),
      m.run(['iptables', '-w', '-t', 'nat', '-S']),
      m.listDir('/etc/netplan'),
      m.readFile('/etc/network/interfaces'),
      readFirewall(m, services),
    ]);

  const ipvsModule =
    ipvsProc !== null ||
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
  const firstLine = (r: { stdout: string; stderr: string; exitCode: number; notFound: boolean }) =>
    r.notFound || r.exitCode !== 0 ? null : parseVersion(`${r.stdout}\n${r.stderr}`);

  return {
    source: 'live',
    hostname: (hostnameText ?? '').trim(),
    os,
    kernel,
    packageManager,
    init,
    networkConfig: networkStyle(
      os,
      services,
      (netplanDir ?? []).some((f) => f.endsWith('.yaml')),
      ifaces !== null,
    ),
    firewall,
    nics: netState.nics,
    routes: netState.routes,
    packages,
    versions: {
      // ipvsadm --version fails when the kernel has no IPVS: fall back to the package's version.
      ipvsadm: firstLine(ipvsadmV) ?? (packages.ipvsadm ? parseVersion(packages.ipvsadm) : null),
      keepalived: firstLine(keepalivedV),
      nginx: firstLine(nginxV),
      node: process.versions.node,
    },
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

/** Re-read only the files (cheap) on top of existing facts. */
export async function withFiles(m: Machine, facts: HostFacts, paths: string[]): Promise<HostFacts> {
  return { ...facts, files: { ...facts.files, ...(await readFiles(m, paths)) } };
}
