import { createHash } from 'node:crypto';
import { netmaskOf } from '../source/config/net.js';
import { safeName, type HostVip, type NicConfig } from './network-model.js';

/**
 * The files that make addresses survive a reboot, one renderer per network configuration system.
 * Pure text in, text out; the network and vip recipes decide when to write them.
 */

// ------------------------------------------------------------------ ifcfg (CentOS 7 network-scripts)

export const IFCFG_DIR = '/etc/sysconfig/network-scripts';
export const ifcfgPath = (dev: string): string => `${IFCFG_DIR}/ifcfg-${dev}`;

type IfcfgWant = { key: string; value: string | null; onlyIfPresent?: boolean };

const IFCFG_LINE = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/**
 * Merge `want` into an ifcfg file: each wanted key replaces its first occurrence in place (null
 * removes it), duplicates go, every other line (UUID, HWADDR, NAME, comments) stays as it was, and
 * missing keys are appended in order. Merging twice gives the same file.
 */
function mergeIfcfg(existing: string | null, want: IfcfgWant[], header: string[]): string {
  const byKey = new Map(want.map((w) => [w.key, w]));
  const present = new Set<string>();
  const done = new Set<string>();
  const lines = existing === null ? [] : existing.replace(/\n$/, '').split('\n');
  for (const line of lines) {
    const key = IFCFG_LINE.exec(line)?.[1];
    if (key) present.add(key);
  }
  const out: string[] = existing === null ? [...header] : [];
  for (const line of lines) {
    const key = IFCFG_LINE.exec(line)?.[1];
    const w = key ? byKey.get(key) : undefined;
    if (!key || !w) {
      out.push(line);
      continue;
    }
    if (done.has(key)) continue; // a duplicate: the first one counts for network-scripts too
    done.add(key);
    if (w.value !== null) out.push(`${key}=${w.value}`);
  }
  for (const w of want) {
    if (done.has(w.key) || w.value === null) continue;
    if (w.onlyIfPresent && !present.has(w.key)) continue;
    out.push(`${w.key}=${w.value}`);
  }
  return `${out.join('\n')}\n`;
}

/** ifcfg-<nic> as the seed writes it, keeping the other keys of an existing file. */
export function ifcfgNic(existing: string | null, nic: NicConfig, header: string): string {
  const want: IfcfgWant[] = [
    { key: 'DEVICE', value: nic.nic },
    { key: 'ONBOOT', value: 'yes' },
    { key: 'BOOTPROTO', value: 'static' },
    { key: 'IPADDR', value: nic.address },
    { key: 'NETMASK', value: netmaskOf(nic.prefix) },
    // PREFIX wins over NETMASK in network-scripts: an installer's PREFIX=16 would silently stay.
    { key: 'PREFIX', value: null },
    // The installer's numbered variants of the primary address would add a stale one.
    { key: 'IPADDR0', value: null },
    { key: 'PREFIX0', value: null },
    { key: 'NETMASK0', value: null },
    { key: 'GATEWAY0', value: null },
    // Only the interface with a gateway may have one: a second GATEWAY adds a second default route.
    { key: 'GATEWAY', value: nic.gateway },
  ];
  if (nic.gateway) want.push({ key: 'DEFROUTE', value: 'yes', onlyIfPresent: true });
  if (nic.dns.length > 0) {
    for (let i = 1; i <= 3; i++) want.push({ key: `DNS${i}`, value: nic.dns[i - 1] ?? null });
    // PEERDNS=no would make network-scripts ignore DNS1/DNS2.
    want.push({ key: 'PEERDNS', value: 'yes', onlyIfPresent: true });
  }
  return mergeIfcfg(existing, want, [`# ${header}`]);
}

/**
 * An alias file (ifcfg-ens33:0, ifcfg-lo:0): network-scripts brings it up with its parent
 * (ifup-post runs ifup-aliases), like the seed's `ifconfig ens33:0 … netmask 255.255.255.255 up`.
 */
export function ifcfgAlias(label: string, vip: string, header: string): string {
  return [
    `# ${header}`,
    `DEVICE=${label}`,
    'ONBOOT=yes',
    'BOOTPROTO=static',
    `IPADDR=${vip}`,
    'NETMASK=255.255.255.255',
    '',
  ].join('\n');
}

/** ifcfg-tunl0: brings the kernel's IPIP device up at boot so its aliases (tunl0:0) follow. */
export function ifcfgTunl0(header: string): string {
  return [
    `# ${header}`,
    'DEVICE=tunl0',
    'ONBOOT=yes',
    'BOOTPROTO=none',
    // NetworkManager (when it runs beside network-scripts) must not take the tunnel over.
    'NM_CONTROLLED=no',
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ NetworkManager keyfile

export const NM_DIR = '/etc/NetworkManager/system-connections';
export const nmProfileName = (nic: string): string => `lvs-setup-${nic}`;
export const nmKeyfilePath = (nic: string): string =>
  `${NM_DIR}/${nmProfileName(nic)}.nmconnection`;

/** A stable UUID (RFC 4122 version 5 layout) from a name, so the keyfile's content is deterministic. */
export function stableUuid(name: string): string {
  const h = createHash('sha1').update(`lvs-setup:${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A NetworkManager keyfile profile for the interface: manual IPv4 with the lab's address, gateway
 * and DNS, plus the director's VIPs as extra /32 addresses (NetworkManager activates one profile per
 * interface, so the VIPs cannot live in a profile of their own).
 */
export function nmKeyfile(
  nic: NicConfig,
  vips: readonly HostVip[],
  header: string,
  uuidSeed: string,
): string {
  const lines = [
    `# ${header}`,
    `# Preferred over other profiles of ${nic.nic} at boot (autoconnect-priority=100).`,
    '[connection]',
    `id=${nmProfileName(nic.nic)}`,
    `uuid=${stableUuid(uuidSeed)}`,
    'type=ethernet',
    `interface-name=${nic.nic}`,
    'autoconnect=true',
    'autoconnect-priority=100',
    '',
    '[ipv4]',
    'method=manual',
    `address1=${nic.cidr}`,
    ...vips.map((v, i) => `address${i + 2}=${v.vip}/32`),
  ];
  if (nic.gateway) lines.push(`gateway=${nic.gateway}`);
  else lines.push('never-default=true');
  if (nic.dns.length > 0) lines.push(`dns=${nic.dns.join(';')};`);
  lines.push('', '[ipv6]', 'method=auto', '');
  return lines.join('\n');
}

// ------------------------------------------------------------------ ifupdown (Debian)

export const IFUPDOWN_MAIN = '/etc/network/interfaces';
export const IFUPDOWN_DIR = '/etc/network/interfaces.d';
/** Where Debian's cloud images (cloud-init) put the DHCP stanza of the first interface. */
export const IFUPDOWN_CLOUD_INIT = '/etc/network/interfaces.d/50-cloud-init';
export const ifupdownNicPath = (nic: string): string =>
  `${IFUPDOWN_DIR}/lvs-setup-${safeName(nic)}`;
export const ifupdownVipPath = (dev: string): string =>
  `${IFUPDOWN_DIR}/lvs-setup-vip-${safeName(dev)}`;

export function ifupdownNic(nic: NicConfig, header: string): string {
  const lines = [
    `# ${header}`,
    `auto ${nic.nic}`,
    `iface ${nic.nic} inet static`,
    `    address ${nic.cidr}`,
  ];
  if (nic.gateway) lines.push(`    gateway ${nic.gateway}`);
  // Used by resolvconf (or systemd-resolved's resolvconf); without either it changes nothing.
  if (nic.dns.length > 0) lines.push(`    dns-nameservers ${nic.dns.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** Alias stanzas (`iface ens33:0 inet static`): ifup adds the /32 with the label and brings the parent up. */
export function ifupdownVips(vips: readonly HostVip[], header: string): string {
  const lines = [`# ${header}`];
  for (const v of vips) {
    const name = v.label ?? v.dev;
    lines.push('', `auto ${name}`, `iface ${name} inet static`, `    address ${v.vip}/32`);
  }
  return `${lines.join('\n')}\n`;
}

const STANZA = /^\s*(iface|mapping|auto|allow-[A-Za-z0-9-]+|source|source-directory|rename)\b/;
const SOURCES_DIR =
  /^\s*(source\s+\/etc\/network\/interfaces\.d\/\*|source-directory\s+(\/etc\/network\/)?interfaces\.d\/?)\s*$/;
export const IFUPDOWN_DISABLED = '#lvs-setup# ';

/**
 * /etc/network/interfaces with the IPv4 stanzas of `nics` commented out (their static stanza now
 * lives in interfaces.d; two `inet` stanzas would give the interface both addresses), the nics
 * dropped from `auto`/`allow-hotplug` lines, and a `source` line for interfaces.d. IPv6 stanzas
 * and everything else stay. Transforming twice gives the same file.
 */
export function ifupdownInterfaces(
  existing: string | null,
  nics: readonly string[],
  options: { addSource?: boolean } = {},
): string {
  const addSource = options.addSource ?? true;
  if (existing === null) {
    return [
      '# Written by lvs-setup: ifupdown reads the interfaces from /etc/network/interfaces.d.',
      'source /etc/network/interfaces.d/*',
      '',
      'auto lo',
      'iface lo inet loopback',
      '',
    ].join('\n');
  }
  const mine = new Set(nics);
  const out: string[] = [];
  let inDisabled = false;
  let hasSource = false;
  for (const line of existing.replace(/\n$/, '').split('\n')) {
    const stanza = STANZA.exec(line);
    if (SOURCES_DIR.test(line)) hasSource = true;
    if (!stanza) {
      // Option lines belong to the stanza above; comments and blank lines pass through.
      const option = line.trim() !== '' && !line.trim().startsWith('#');
      out.push(inDisabled && option ? `${IFUPDOWN_DISABLED}${line}` : line);
      continue;
    }
    inDisabled = false;
    const words = line.trim().split(/\s+/);
    const kind = words[0] ?? '';
    if (kind === 'iface' && mine.has(words[1] ?? '') && words[2] === 'inet') {
      inDisabled = true;
      out.push(`${IFUPDOWN_DISABLED}${line}`);
      continue;
    }
    if (kind === 'auto' || kind.startsWith('allow-')) {
      const names = words.slice(1);
      const kept = names.filter((n) => !mine.has(n));
      if (kept.length === names.length) out.push(line);
      else if (kept.length === 0) out.push(`${IFUPDOWN_DISABLED}${line}`);
      else out.push(`${IFUPDOWN_DISABLED}${line}`, `${kind} ${kept.join(' ')}`);
      continue;
    }
    out.push(line);
  }
  if (addSource && !hasSource) {
    out.push('', '# Added by lvs-setup: the static interfaces it writes live here.');
    out.push('source /etc/network/interfaces.d/*');
  }
  return `${out.join('\n')}\n`;
}

// ------------------------------------------------------------------ netplan (Ubuntu)

export const NETPLAN_FILE = '/etc/netplan/60-lvs-setup.yaml';
export const netplanVipPath = (dev: string): string =>
  `/etc/netplan/61-lvs-setup-vip-${safeName(dev)}.yaml`;

const YAML_PLAIN = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const YAML_SPECIAL = /^(y|n|yes|no|on|off|true|false|null)$/i;
/** A YAML mapping key: plain when it cannot be read as anything but a string. */
export function yamlKey(name: string): string {
  return YAML_PLAIN.test(name) && !YAML_SPECIAL.test(name) ? name : JSON.stringify(name);
}

export function netplanNics(nics: readonly NicConfig[], header: string): string {
  const lines = [
    `# ${header}`,
    '# netplan merges all files in /etc/netplan in name order: later scalars override (dhcp4),',
    '# lists are appended (addresses, routes), so other files must not give these NICs addresses.',
    'network:',
    '  version: 2',
    '  ethernets:',
  ];
  for (const n of nics) {
    lines.push(
      `    ${yamlKey(n.nic)}:`,
      '      dhcp4: false',
      '      addresses:',
      `        - ${n.cidr}`,
    );
    if (n.gateway)
      lines.push('      routes:', '        - to: default', `          via: ${n.gateway}`);
    if (n.dns.length > 0) {
      lines.push(
        '      nameservers:',
        '        addresses:',
        ...n.dns.map((d) => `          - ${d}`),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Extra addresses for an interface another netplan file defines (netplan appends lists). */
export function netplanVips(dev: string, vips: readonly HostVip[], header: string): string {
  return [
    `# ${header}`,
    'network:',
    '  version: 2',
    '  ethernets:',
    `    ${yamlKey(dev)}:`,
    '      addresses:',
    ...vips.map((v) => `        - ${v.vip}/32`),
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ systemd-networkd

export const NETWORKD_DIR = '/etc/systemd/network';
export const networkdPath = (dev: string): string => `${NETWORKD_DIR}/60-lvs-setup-${dev}.network`;
export const networkdVipDropinPath = (dev: string): string =>
  `${networkdPath(dev)}.d/60-lvs-setup-vip.conf`;

const KEEP_COMMENT = [
  '# systemd 252 removes addresses it did not configure when it (re)configures the link, unless',
  '# KeepConfiguration=static: keepalived’s VIP and `ip addr add` /32s must survive a networkd',
  '# restart or `networkctl reload`.',
];

export function networkdNic(nic: NicConfig, header: string): string {
  const lines = [
    `# ${header}`,
    '[Match]',
    `Name=${nic.nic}`,
    '',
    '[Network]',
    `Address=${nic.cidr}`,
  ];
  if (nic.gateway) lines.push(`Gateway=${nic.gateway}`);
  // DNS= reaches /etc/resolv.conf only through systemd-resolved.
  for (const d of nic.dns) lines.push(`DNS=${d}`);
  lines.push(...KEEP_COMMENT, 'KeepConfiguration=static', '');
  return lines.join('\n');
}

function networkdAddresses(vips: readonly HostVip[]): string[] {
  return vips.flatMap((v) => [
    '',
    '[Address]',
    `Address=${v.vip}/32`,
    ...(v.label ? [`Label=${v.label}`] : []),
  ]);
}

/** A drop-in for the interface's own .network file (only the first matching .network file counts). */
export function networkdVipDropin(vips: readonly HostVip[], header: string): string {
  return [`# ${header}`, ...networkdAddresses(vips).slice(1), ''].join('\n');
}

/** A .network file for lo or tunl0 carrying the VIPs. */
export function networkdVirtual(dev: string, vips: readonly HostVip[], header: string): string {
  return [
    `# ${header}`,
    '[Match]',
    `Name=${dev}`,
    '',
    '[Link]',
    '# Not a link to wait for at boot (systemd-networkd-wait-online).',
    'RequiredForOnline=no',
    '',
    '[Network]',
    'LinkLocalAddressing=no',
    'KeepConfiguration=static',
    ...networkdAddresses(vips),
    '',
  ].join('\n');
}

// ------------------------------------------------------------------ systemd units

export const UNIT_DIR = '/etc/systemd/system';
export const unitPath = (name: string): string => `${UNIT_DIR}/${name}`;
/** What `systemctl enable` creates for WantedBy=multi-user.target (read through the symlink). */
export const unitWantsPath = (name: string): string =>
  `${UNIT_DIR}/multi-user.target.wants/${name}`;

/**
 * A oneshot unit that runs early at boot, before the network is configured (network-pre.target),
 * after modules are loaded and sysctls applied. `-` before a command: its failure (e.g. "File
 * exists") does not fail the unit. ExecStart is not a shell: one command per line.
 */
export function oneshotUnit(o: {
  description: string;
  header: string[];
  start: string[][];
  stop: string[][];
}): string {
  const line = (prefix: string, argv: string[]) => `${prefix}${argv.join(' ')}`;
  return [
    ...o.header.map((h) => `# ${h}`),
    '[Unit]',
    `Description=${o.description}`,
    'DefaultDependencies=no',
    'Wants=network-pre.target',
    'After=systemd-modules-load.service systemd-sysctl.service local-fs.target',
    'Before=network-pre.target shutdown.target',
    'Conflicts=shutdown.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    ...o.start.map((argv) => line('ExecStart=', argv)),
    ...o.stop.map((argv) => line('ExecStop=', argv)),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export const vipUnitName = (dev: string): string => `lvs-setup-vip-${safeName(dev)}.service`;

/** Where `ip` lives on every supported distro (/sbin is /usr/sbin on merged-/usr systems). */
export const IP = '/sbin/ip';

export function vipUnit(dev: string, vips: readonly HostVip[], header: string): string {
  const add = (v: HostVip) => [
    `-${IP}`,
    'addr',
    'add',
    `${v.vip}/32`,
    'dev',
    dev,
    ...(v.label ? ['label', v.label] : []),
  ];
  return oneshotUnit({
    description: `lvs-setup: LVS VIPs on ${dev}`,
    header: [header],
    start: [...vips.map(add), [IP, 'link', 'set', dev, 'up']],
    stop: vips.map((v) => [`-${IP}`, 'addr', 'del', `${v.vip}/32`, 'dev', dev]),
  });
}
