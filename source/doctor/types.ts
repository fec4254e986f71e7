import type { Role } from '../config/schema.js';
import type { Listener } from './parse.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** One doctor check. `fix` is the exact command(s) or lab-file change; null when nothing to do. */
export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix: string | null;
}

export type ForwardMode = 'nat' | 'dr' | 'tun';

export interface DirectedService {
  name: string;
  vip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  /** null when inferred from a table whose real servers disagree or that has none. */
  mode: ForwardMode | null;
  scheduler: string | null;
  persistence: number | null;
  realServers: Array<{ host: string | null; address: string; port: number; weight: number }>;
}

export interface ServedService {
  name: string;
  vip: string;
  /** The port the real server listens on (NAT may rewrite it; DR/TUN keep the service's). */
  port: number;
  protocol: 'tcp' | 'udp';
  mode: ForwardMode;
  /** This real server's address in the service (what the director forwards to). */
  address: string | null;
  /** NAT: the director addresses on this real server's subnet (its default gateway must be one). */
  gateways: string[];
}

export interface HaModel {
  state: 'MASTER' | 'BACKUP' | null;
  priority: number | null;
  nopreempt: boolean;
  /** The NIC VRRP runs on. */
  interface: string | null;
  routerId: number | null;
  /** Addresses of every HA director of the lab (ours and our peers): adverts from them are fine. */
  peerAddresses: string[];
}

/** What this host should be, from the lab file or inferred from what is configured. */
export interface DoctorModel {
  source: 'lab' | 'inferred';
  labName: string | null;
  labPath: string | null;
  hostName: string | null;
  roles: Role[];
  /** How the roles were decided (shown in the header). */
  reasons: string[];
  /** The host's LAN NICs (per-NIC sysctls are checked on these). */
  nics: string[];
  directed: DirectedService[];
  served: ServedService[];
  ha: HaModel | null;
  nfs: boolean;
  /** Every VIP the model knows (the lab's, or those seen on this host). */
  vips: string[];
  /** The lab's firewall policy, null when inferred. */
  firewall: 'disable' | 'open' | null;
  /** `sudo lvs-setup apply --lab FILE --host NAME`, when a lab file was given. */
  applyCommand: string | null;
}

export type ReachStatus = 'open' | 'refused' | 'timeout' | 'unreachable' | 'skipped';

export interface ReachResult {
  service: string;
  host: string | null;
  address: string;
  port: number;
  protocol: 'tcp' | 'udp';
  status: ReachStatus;
  detail: string;
}

export type VrrpSniff =
  | {
      status: 'listened';
      interface: string;
      seconds: number;
      adverts: Array<{ source: string; vrid: number; priority: number | null }>;
    }
  | { status: 'skipped'; reason: string };

export interface FileProbe {
  path: string;
  /** The file exists (stat). */
  present: boolean;
  /** Content, or null when absent or unreadable (not root). */
  content: string | null;
}

/** What doctor read through the Machine beyond the facts. */
export interface ProbeResults {
  /** Listening sockets (`ss -ltn`, `ss -lun`); null when ss is missing or failed. */
  listeners: Listener[] | null;
  keepalivedConf: FileProbe;
  /** The rules file the distro's ipvsadm service restores at boot. */
  ipvsRules: FileProbe;
  /** Debian's /etc/default/ipvsadm (AUTO="true" restores the rules at boot); null content elsewhere. */
  ipvsadmDefaults: FileProbe;
  /** `systemctl is-enabled` per unit (enabled, disabled, generated …), null when unknown. */
  unitEnabled: Record<string, string | null>;
  exports: FileProbe;
  /** Persisted sysctl settings: /etc/sysctl.conf and /etc/sysctl.d/*.conf, key → value (last wins). */
  sysctlPersisted: Record<string, { value: string; file: string }>;
  /** TCP connects from this director to each real server; null when not probed. */
  reach: ReachResult[] | null;
  vrrp: VrrpSniff | null;
}
