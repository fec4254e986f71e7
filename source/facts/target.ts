import type { LabHost } from '../config/schema.js';
import { WATCHED_PACKAGES, WATCHED_UNITS, watchedSysctls } from './gather.js';
import type { DistroKey, HostFacts, OsFacts, ServiceState } from './types.js';

/**
 * Facts of a *fresh* VM of a distro, so anyone can plan (and export the script) for a CentOS 7 VM
 * from any machine: the lab host's NICs present but unconfigured, nothing of ours installed,
 * firewalld running on EL, kernel default sysctls, IPVS available but not loaded.
 */

const OS: Record<DistroKey, OsFacts> = {
  centos7: {
    id: 'centos',
    versionId: '7',
    family: 'el',
    prettyName: 'CentOS Linux 7 (Core)',
    distro: 'centos7',
    major: 7,
  },
  rocky8: {
    id: 'rocky',
    versionId: '8.10',
    family: 'el',
    prettyName: 'Rocky Linux 8.10 (Green Obsidian)',
    distro: 'rocky8',
    major: 8,
  },
  rocky9: {
    id: 'rocky',
    versionId: '9.4',
    family: 'el',
    prettyName: 'Rocky Linux 9.4 (Blue Onyx)',
    distro: 'rocky9',
    major: 9,
  },
  debian12: {
    id: 'debian',
    versionId: '12',
    family: 'debian',
    prettyName: 'Debian GNU/Linux 12 (bookworm)',
    distro: 'debian12',
    major: 12,
  },
  ubuntu22: {
    id: 'ubuntu',
    versionId: '22.04',
    family: 'debian',
    prettyName: 'Ubuntu 22.04.4 LTS',
    distro: 'ubuntu22',
    major: 22,
  },
  ubuntu24: {
    id: 'ubuntu',
    versionId: '24.04',
    family: 'debian',
    prettyName: 'Ubuntu 24.04.1 LTS',
    distro: 'ubuntu24',
    major: 24,
  },
};

const KERNEL: Record<DistroKey, string> = {
  centos7: '3.10.0-1160.el7.x86_64',
  rocky8: '4.18.0-553.el8_10.x86_64',
  rocky9: '5.14.0-427.13.1.el9_4.x86_64',
  debian12: '6.1.0-27-amd64',
  ubuntu22: '5.15.0-119-generic',
  ubuntu24: '6.8.0-45-generic',
};

const KEEPALIVED_DEFAULT: Record<DistroKey, string> = {
  centos7: '1.3.5',
  rocky8: '2.1.5',
  rocky9: '2.2.8',
  debian12: '2.2.7',
  ubuntu22: '2.2.4',
  ubuntu24: '2.2.8',
};

/** The keepalived version a distro's package manager would install (templates need it). */
export function distroKeepalivedVersion(distro: DistroKey): string {
  return KEEPALIVED_DEFAULT[distro];
}

export function targetFacts(distro: DistroKey, host: LabHost | null): HostFacts {
  const os = OS[distro];
  const el = os.family === 'el';
  const nicNames = Object.keys(host?.interfaces ?? { eth0: {} });
  const nics: HostFacts['nics'] = [
    {
      name: 'lo',
      state: 'UNKNOWN',
      mac: null,
      addresses: [{ address: '127.0.0.1', prefix: 8, family: 'inet' }],
      linkType: 'loopback',
    },
    ...nicNames.map((name, i) => ({
      name,
      state: 'UP',
      mac:
        host?.interfaces[name]?.mac?.toLowerCase() ??
        `52:54:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
      addresses: [],
      linkType: 'ether',
    })),
  ];
  const sysctl: Record<string, string> = {};
  for (const key of watchedSysctls(nicNames)) {
    if (key.startsWith('net.ipv4.vs.') || key.includes('.tunl0.')) continue; // not there until loaded
    const leaf = key.split('.').pop();
    sysctl[key] =
      leaf === 'send_redirects'
        ? '1'
        : leaf === 'rp_filter'
          ? el
            ? '1'
            : distro.startsWith('ubuntu')
              ? '2'
              : '0'
          : '0';
  }
  const present = (active: boolean, enabled = active): ServiceState => ({
    present: true,
    active,
    enabled,
  });
  const services: Record<string, ServiceState> = {};
  for (const u of WATCHED_UNITS) services[u] = { present: false, active: false, enabled: false };
  if (el) services.firewalld = present(true);
  if (distro === 'centos7') services.network = present(true);
  if (el && distro !== 'centos7') services.NetworkManager = present(true);
  if (distro === 'debian12') services.networking = present(true);
  if (distro.startsWith('ubuntu')) services['systemd-networkd'] = present(true);
  const watched = el ? WATCHED_PACKAGES.el : WATCHED_PACKAGES.debian;
  const packages: Record<string, string | null> = Object.fromEntries(watched.map((p) => [p, null]));
  if (el) {
    packages.firewalld = 'installed';
    packages.iptables = 'installed';
  }
  if (distro.startsWith('ubuntu')) packages.iptables = 'installed';
  return {
    source: `target:${distro}`,
    hostname: 'localhost',
    os,
    kernel: KERNEL[distro],
    packageManager: el ? (os.major >= 8 ? 'dnf' : 'yum') : 'apt',
    init: 'systemd',
    networkConfig:
      distro === 'centos7'
        ? 'ifcfg'
        : el
          ? 'networkmanager'
          : distro === 'debian12'
            ? 'ifupdown'
            : 'netplan',
    firewall: el
      ? {
          kind: 'firewalld',
          running: true,
          zone: 'public',
          services: ['ssh', 'dhcpv6-client'],
          ports: [],
          protocols: [],
          richRules: [],
        }
      : { kind: 'none', running: false },
    nics,
    routes: { defaultGateway: null, defaultDev: null, routes: [] },
    packages,
    versions: { ipvsadm: null, keepalived: null, nginx: null, node: process.versions.node },
    ipvs: { available: true, loaded: false, services: null },
    sysctl,
    modules: [],
    services,
    iptablesNat:
      el || distro.startsWith('ubuntu')
        ? ['-P PREROUTING ACCEPT', '-P INPUT ACCEPT', '-P OUTPUT ACCEPT', '-P POSTROUTING ACCEPT']
        : null,
    files: {},
    uid: 0,
    sshLocalAddress: null,
  };
}
