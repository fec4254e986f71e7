import type { PlanContext } from '../../recipes/context.js';
import { inSubnet } from '../config/net.js';
import { parseIpvsadmSave } from '../facts/parse.js';
import type { HostFacts } from '../facts/types.js';
import { inferModel, isDirector, modelFromLab, natDirected } from './model.js';
import { isWildcard, parseKeepalivedConf, parseShellVars, type KeepalivedConf } from './parse.js';
import type { CheckResult, DoctorModel, ProbeResults, ServedService } from './types.js';

/**
 * The doctor's checks: pure functions of the host's facts, the model of what the host should be
 * (from the lab file or inferred) and what the probes read. Each says pass / warn / fail / skip,
 * why, and the exact command or lab-file change that fixes it.
 */

export interface CheckInput {
  facts: HostFacts;
  model: DoctorModel;
  probes: ProbeResults;
}

export type Check = (input: CheckInput) => CheckResult;

const SYSCTL_FILE = '/etc/sysctl.d/90-lvs-setup.conf';
const MODULES_FILE = '/etc/modules-load.d/lvs-setup.conf';

// ---------------------------------------------------------------------------------------------
// Helpers

function result(
  id: string,
  title: string,
  status: CheckResult['status'],
  detail: string,
  fix: string | null = null,
): CheckResult {
  return { id, title, status, detail, fix: status === 'pass' || status === 'skip' ? null : fix };
}

/** Fix lines, plus "or let lvs-setup do it" when a lab file was given. */
function fixLines(model: DoctorModel, lines: string[], applyDoesIt = true): string {
  const out = [...lines];
  if (applyDoesIt && model.applyCommand) out.push(`or let lvs-setup do it: ${model.applyCommand}`);
  return out.join('\n');
}

function sysctlFix(model: DoctorModel, pairs: Array<[string, string]>): string {
  return fixLines(model, [
    `sysctl -w ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `to keep it after a reboot, add to ${SYSCTL_FILE}: ${pairs.map(([k, v]) => `${k} = ${v}`).join('; ')}`,
  ]);
}

const num = (v: string | undefined): number => {
  const n = Number((v ?? '').trim());
  return Number.isFinite(n) ? n : 0;
};

function addressesOn(facts: HostFacts, address: string): Array<{ nic: string; prefix: number }> {
  return facts.nics.flatMap((n) =>
    n.addresses
      .filter((a) => a.family === 'inet' && a.address === address)
      .map((a) => ({ nic: n.name, prefix: a.prefix })),
  );
}

function localAddresses(facts: HostFacts): Set<string> {
  return new Set(facts.nics.flatMap((n) => n.addresses.map((a) => a.address)));
}

/** The LAN NIC whose subnet holds `address` (where a director's VIP alias goes). */
function nicForAddress(facts: HostFacts, model: DoctorModel, address: string): string {
  for (const n of facts.nics) {
    if (!model.nics.includes(n.name)) continue;
    if (n.addresses.some((a) => a.family === 'inet' && inSubnet(address, a.address, a.prefix)))
      return n.name;
  }
  return model.nics[0] ?? 'eth0';
}

function conf(probes: ProbeResults): KeepalivedConf | null {
  return probes.keepalivedConf.content !== null
    ? parseKeepalivedConf(probes.keepalivedConf.content)
    : null;
}

const drTun = (m: DoctorModel) => m.served.filter((s) => s.mode === 'dr' || s.mode === 'tun');
const list = (items: string[]) => items.join('; ');

/** Unit enabled at boot: `systemctl is-enabled` when it answered, else the facts. */
function enabledAtBoot(facts: HostFacts, probes: ProbeResults, unit: string): boolean {
  const state = probes.unitEnabled[unit];
  if (state)
    return ['enabled', 'enabled-runtime', 'generated', 'static', 'indirect'].includes(state);
  return facts.services[unit]?.enabled ?? false;
}

/** ipvsadm restores the saved rules at boot (EL: the unit; Debian: the unit and AUTO="true"). */
function ipvsadmRestores(facts: HostFacts, probes: ProbeResults): boolean {
  if (facts.os.family === 'debian') {
    const auto = parseShellVars(probes.ipvsadmDefaults.content ?? '').AUTO;
    if (auto !== 'true') return false;
    const state = probes.unitEnabled.ipvsadm;
    return state === null || state === undefined
      ? (facts.services.ipvsadm?.present ?? false)
      : enabledAtBoot(facts, probes, 'ipvsadm');
  }
  return enabledAtBoot(facts, probes, 'ipvsadm');
}

function keepalivedOwnsTable(c: KeepalivedConf | null): boolean {
  return c !== null && c.virtualServers.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Kernel

export const ipvsModule: Check = ({ facts, model }) => {
  const id = 'ipvs-module';
  const title = 'IPVS kernel module (ip_vs) available and loaded';
  if (!isDirector(model))
    return result(id, title, 'skip', 'not a director: only directors need IPVS');
  if (!facts.ipvs.available) {
    return result(
      id,
      title,
      'fail',
      `kernel ${facts.kernel} has no ip_vs module (nothing under /lib/modules/${facts.kernel}/kernel/net/netfilter/ipvs/)`,
      facts.os.id === 'ubuntu'
        ? 'apt-get install linux-modules-extra-$(uname -r) && modprobe ip_vs'
        : facts.os.family === 'el'
          ? 'dnf install kernel-modules-extra (or boot the distribution kernel) && modprobe ip_vs'
          : 'install the kernel modules package of the running kernel, or boot a kernel with CONFIG_IP_VS=m, then: modprobe ip_vs',
    );
  }
  if (!facts.ipvs.loaded) {
    return result(
      id,
      title,
      'fail',
      'ip_vs is available but not loaded: the net.ipv4.vs.* settings do not exist until it is, and nothing loads it at boot',
      fixLines(model, [
        'modprobe ip_vs',
        `to load it at every boot, add the line ip_vs to ${MODULES_FILE}`,
      ]),
    );
  }
  return result(id, title, 'pass', 'ip_vs is loaded');
};

export const ipForward: Check = ({ facts, model }) => {
  const id = 'ip-forward';
  const title = 'IP forwarding on a NAT director';
  const nat = natDirected(model);
  if (nat.length === 0)
    return result(
      id,
      title,
      'skip',
      isDirector(model)
        ? 'no NAT service here: DR and TUN forward inside IPVS without it'
        : 'not a director',
    );
  const v = facts.sysctl['net.ipv4.ip_forward'];
  if (v === '1') return result(id, title, 'pass', 'net.ipv4.ip_forward = 1');
  return result(
    id,
    title,
    'fail',
    `net.ipv4.ip_forward is ${v ?? 'unknown'}: the director does not route the real servers' replies back to the clients (${nat.map((s) => s.name).join(', ')} is NAT)`,
    sysctlFix(model, [['net.ipv4.ip_forward', '1']]),
  );
};

export const sendRedirects: Check = ({ facts, model }) => {
  const id = 'send-redirects';
  const title = 'ICMP redirects off on a NAT director';
  if (natDirected(model).length === 0)
    return result(id, title, 'skip', isDirector(model) ? 'no NAT service here' : 'not a director');
  const keys = ['all', ...model.nics].map((n) => `net.ipv4.conf.${n}.send_redirects`);
  const on = keys.filter((k) => facts.sysctl[k] !== undefined && facts.sysctl[k] !== '0');
  if (on.length === 0)
    return result(
      id,
      title,
      'pass',
      `send_redirects is 0 on all and ${model.nics.join(', ') || '(no NICs)'}`,
    );
  return result(
    id,
    title,
    'fail',
    `${on.map((k) => `${k} = ${facts.sysctl[k]}`).join(', ')}: the kernel sends redirects when all OR the NIC says so, and a redirect tells the real servers to reach clients directly, bypassing the NAT`,
    sysctlFix(
      model,
      on.map((k) => [k, '0']),
    ),
  );
};

export const vsConntrack: Check = ({ facts, model }) => {
  const id = 'vs-conntrack';
  const title = 'net.ipv4.vs.conntrack where IPVS NAT and iptables NAT meet';
  if (natDirected(model).length === 0)
    return result(id, title, 'skip', isDirector(model) ? 'no NAT service here' : 'not a director');
  if (facts.iptablesNat === null)
    return result(
      id,
      title,
      'skip',
      'iptables is not available, so there are no iptables NAT rules',
    );
  const rules = facts.iptablesNat.filter((l) => l.startsWith('-A '));
  if (rules.length === 0)
    return result(
      id,
      title,
      'skip',
      'the iptables nat table has no rules: nothing to meet IPVS NAT',
    );
  const v = facts.sysctl['net.ipv4.vs.conntrack'];
  if (v === '1')
    return result(
      id,
      title,
      'pass',
      `net.ipv4.vs.conntrack = 1 (${rules.length} iptables nat rule(s))`,
    );
  const fix =
    v === undefined
      ? fixLines(model, [
          'modprobe ip_vs && sysctl -w net.ipv4.vs.conntrack=1',
          `to keep it after a reboot, add ip_vs to ${MODULES_FILE} and net.ipv4.vs.conntrack = 1 to ${SYSCTL_FILE}`,
        ])
      : sysctlFix(model, [['net.ipv4.vs.conntrack', '1']]);
  return result(
    id,
    title,
    'fail',
    `${v === undefined ? 'net.ipv4.vs.conntrack does not exist (ip_vs is not loaded)' : `net.ipv4.vs.conntrack = ${v}`} while the nat table has ${rules.length} rule(s) (${rules.slice(0, 2).join(' | ')}): IPVS connections are not tracked, so those rules see the replies as new or invalid traffic`,
    fix,
  );
};

export const arpSysctls: Check = ({ facts, model }) => {
  const id = 'arp-sysctls';
  const title = 'ARP sysctls on a DR/TUN real server (all and the NIC)';
  if (drTun(model).length === 0) return result(id, title, 'skip', 'not a DR or TUN real server');
  const needs: Array<[string, number]> = [
    ['arp_ignore', 1],
    ['arp_announce', 2],
  ];
  const broken: Array<[string, string]> = [];
  const weakAll: string[] = [];
  const details: string[] = [];
  for (const [key, want] of needs) {
    const all = num(facts.sysctl[`net.ipv4.conf.all.${key}`]);
    if (all < want) weakAll.push(`net.ipv4.conf.all.${key} = ${all}`);
    for (const nic of model.nics) {
      const own = num(facts.sysctl[`net.ipv4.conf.${nic}.${key}`]);
      // The kernel uses the larger of conf.all and conf.<nic>.
      if (Math.max(all, own) < want) {
        details.push(
          `${nic}: ${key} is effectively ${Math.max(all, own)} (all ${all}, ${nic} ${own})`,
        );
        broken.push([`net.ipv4.conf.all.${key}`, String(want)]);
        broken.push([`net.ipv4.conf.${nic}.${key}`, String(want)]);
      }
    }
  }
  const pairs = [...new Map(broken.map(([k, v]) => [k, v])).entries()];
  if (pairs.length > 0) {
    return result(
      id,
      title,
      'fail',
      `${list(details)}: this host answers ARP for the VIP on its NIC and steals the director's traffic (arp_ignore=1, arp_announce=2 needed; the kernel takes the larger of all and the NIC)`,
      sysctlFix(model, pairs),
    );
  }
  if (weakAll.length > 0) {
    return result(
      id,
      title,
      'warn',
      `${weakAll.join(', ')}: the NICs are set, but a NIC added later would answer ARP for the VIP`,
      sysctlFix(
        model,
        needs.map(([k, v]) => [`net.ipv4.conf.all.${k}`, String(v)]),
      ),
    );
  }
  return result(
    id,
    title,
    'pass',
    `arp_ignore >= 1 and arp_announce = 2 on all (covers ${model.nics.join(', ') || 'every NIC'})`,
  );
};

export const rpFilter: Check = ({ facts, model }) => {
  const id = 'rp-filter';
  const title = 'Reverse-path filter relaxed on a TUN real server';
  if (!model.served.some((s) => s.mode === 'tun'))
    return result(id, title, 'skip', 'not a TUN real server');
  if (!facts.nics.some((n) => n.name === 'tunl0')) {
    return result(
      id,
      title,
      'fail',
      'tunl0 does not exist: the ipip module is not loaded, so IP-in-IP packets from the director are dropped',
      fixLines(model, [
        'modprobe ipip && sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0',
        `to keep it after a reboot, add ipip to ${MODULES_FILE}`,
      ]),
    );
  }
  const all = num(facts.sysctl['net.ipv4.conf.all.rp_filter']);
  const tun = num(facts.sysctl['net.ipv4.conf.tunl0.rp_filter']);
  const effective = Math.max(all, tun);
  if (effective !== 1)
    return result(
      id,
      title,
      'pass',
      `rp_filter on tunl0 is effectively ${effective} (all ${all}, tunl0 ${tun}): not strict`,
    );
  return result(
    id,
    title,
    'fail',
    `rp_filter on tunl0 is effectively 1 (strict; all ${all}, tunl0 ${tun}): a decapsulated request comes from a client that is not routed via tunl0, so the kernel drops it`,
    sysctlFix(model, [
      ['net.ipv4.conf.all.rp_filter', '0'],
      ['net.ipv4.conf.tunl0.rp_filter', '0'],
    ]),
  );
};

// ---------------------------------------------------------------------------------------------
// Addresses and routes

export const vipLoopback: Check = ({ facts, model }) => {
  const id = 'vip-loopback';
  const title = 'VIP as /32 on lo (DR) or tunl0 (TUN) on a real server';
  const served = drTun(model);
  if (served.length === 0) return result(id, title, 'skip', 'not a DR or TUN real server');
  const problems: string[] = [];
  const fixes: string[] = [];
  const good: string[] = [];
  for (const vip of [...new Set(served.map((s) => `${s.mode} ${s.vip}`))]) {
    const [mode = 'dr', address = ''] = vip.split(' ');
    const dev = mode === 'tun' ? 'tunl0' : 'lo';
    const nic = facts.nics.find((n) => n.name === dev);
    if (!nic) {
      problems.push(`${dev} does not exist (the ipip module is not loaded)`);
      fixes.push(`modprobe ipip && ip addr add ${address}/32 dev tunl0 && ip link set tunl0 up`);
      continue;
    }
    const found = nic.addresses.find((a) => a.family === 'inet' && a.address === address);
    if (!found) {
      problems.push(
        `${address} is not on ${dev}: the kernel drops requests for the VIP (${mode.toUpperCase()} delivers them unchanged)`,
      );
      fixes.push(
        dev === 'lo'
          ? `ip addr add ${address}/32 dev lo label lo:0`
          : `ip addr add ${address}/32 dev tunl0 && ip link set tunl0 up`,
      );
      continue;
    }
    if (found.prefix !== 32) {
      problems.push(
        `${address}/${found.prefix} is on ${dev}: every address of that /${found.prefix} becomes local, so this host can no longer reach its neighbours`,
      );
      fixes.push(
        `ip addr del ${address}/${found.prefix} dev ${dev} && ip addr add ${address}/32 dev ${dev}${dev === 'lo' ? ' label lo:0' : ''}`,
      );
      continue;
    }
    if (dev === 'tunl0' && nic.state === 'DOWN') {
      problems.push(`tunl0 holds ${address} but is down`);
      fixes.push('ip link set tunl0 up');
      continue;
    }
    good.push(`${address}/32 on ${dev}`);
  }
  if (problems.length > 0) return result(id, title, 'fail', list(problems), fixLines(model, fixes));
  return result(id, title, 'pass', good.join(', '));
};

export const vipPlacement: Check = ({ facts, model }) => {
  const id = 'vip-placement';
  const title = 'VIP present on this host exactly when it should be';
  if (model.vips.length === 0)
    return result(id, title, 'skip', 'no VIP is known for this host (give --lab)');
  const keepalivedActive = facts.services.keepalived?.active ?? false;
  const problems: string[] = [];
  const fixes: string[] = [];
  const notes: string[] = [];
  for (const vip of model.vips) {
    const where = addressesOn(facts, vip);
    const onLan = where.filter(
      (w) => model.nics.includes(w.nic) || (w.nic !== 'lo' && w.nic !== 'tunl0'),
    );
    const onLoopback = where.filter((w) => w.nic === 'lo' || w.nic === 'tunl0');
    const directed = model.directed.some((d) => d.vip === vip);
    const served = model.served.find((s) => s.vip === vip && (s.mode === 'dr' || s.mode === 'tun'));
    const del = (w: { nic: string; prefix: number }) =>
      `ip addr del ${vip}/${w.prefix} dev ${w.nic}`;
    if (directed) {
      for (const w of onLoopback) {
        problems.push(`${vip} is on ${w.nic}: a director must answer ARP for the VIP on its NIC`);
        fixes.push(del(w));
      }
      if (model.ha) {
        if (!keepalivedActive && onLan.length > 0) {
          problems.push(
            `${vip} is on ${onLan.map((w) => w.nic).join(', ')} but keepalived is not running: a stale address, and the other director may hold the VIP too`,
          );
          fixes.push(...onLan.map(del), 'systemctl enable --now keepalived');
        } else if (!keepalivedActive) {
          notes.push(
            `${vip} is not here, and keepalived, which would add it, is not running (see keepalived-service)`,
          );
        } else {
          notes.push(
            `${vip} ${onLan.length > 0 ? `is on ${onLan.map((w) => w.nic).join(', ')} (this director is MASTER now)` : 'is not here (the other director holds it, or this one is BACKUP)'}`,
          );
          if (model.ha.state === 'MASTER' && onLan.length === 0)
            notes.push(
              'the lab makes this director MASTER: check that the BACKUP has a lower priority',
            );
        }
      } else if (onLan.length === 0) {
        const nic = nicForAddress(facts, model, vip);
        problems.push(
          `${vip} is on no NIC of this director: clients' packets for the VIP never reach it`,
        );
        fixes.push(`ip addr add ${vip}/32 dev ${nic} label ${nic}:0`);
      } else {
        notes.push(`${vip} is on ${onLan.map((w) => w.nic).join(', ')}`);
      }
    } else if (served) {
      for (const w of onLan) {
        problems.push(
          `${vip} is on ${w.nic}: a ${served.mode.toUpperCase()} real server must hold the VIP only on ${served.mode === 'tun' ? 'tunl0' : 'lo'}, or it answers ARP for it and steals the director's traffic`,
        );
        fixes.push(del(w));
      }
      if (onLan.length === 0)
        notes.push(
          `${vip} is ${onLoopback.length > 0 ? `only on ${onLoopback.map((w) => w.nic).join(', ')}` : 'not on a NIC'}`,
        );
    } else {
      for (const w of where) {
        problems.push(
          `${vip} is on ${w.nic}, but this host ${model.hostName ? `(${model.hostName}, a ${model.roles.join('/')})` : ''} should not hold it: it would answer for the VIP`,
        );
        fixes.push(del(w));
      }
      if (where.length === 0) notes.push(`${vip} is not here (right)`);
    }
  }
  if (problems.length > 0) return result(id, title, 'fail', list(problems), fixLines(model, fixes));
  return result(id, title, 'pass', list(notes));
};

export const natGateway: Check = ({ facts, model }) => {
  const id = 'nat-gateway';
  const title = "NAT real server's default gateway is the director (DIP)";
  const nat = model.served.filter((s) => s.mode === 'nat');
  if (nat.length === 0) return result(id, title, 'skip', 'not a NAT real server');
  const want = [...new Set(nat.flatMap((s) => s.gateways))];
  if (want.length === 0)
    return result(id, title, 'skip', 'the director address on this subnet is unknown');
  const gw = facts.routes.defaultGateway;
  if (gw !== null && want.includes(gw))
    return result(
      id,
      title,
      'pass',
      `default route via ${gw}${facts.routes.defaultDev ? ` dev ${facts.routes.defaultDev}` : ''}`,
    );
  const dip = want[0] ?? '';
  const nicAndPath = model.hostName
    ? ` and in the lab file: hosts.${model.hostName}.interfaces.<nic>.gateway: ${dip}`
    : '';
  return result(
    id,
    title,
    'fail',
    `the default gateway is ${gw ?? 'missing'}; it must be ${want.join(' or ')}: replies must go back through the director, whose NAT rewrites their source to the VIP, or clients drop them`,
    fixLines(model, [
      `ip route replace default via ${dip}`,
      `to keep it, set the gateway in the network configuration${nicAndPath}`,
    ]),
  );
};

export const defaultRoute: Check = ({ facts, model }) => {
  const id = 'default-route';
  const title = 'One default route';
  const defaults = facts.routes.routes.filter((r) => r.dst === 'default' || r.dst === '0.0.0.0/0');
  if (defaults.length <= 1)
    return result(
      id,
      title,
      'pass',
      defaults[0]
        ? `via ${defaults[0].gateway ?? '?'} dev ${defaults[0].dev ?? '?'}`
        : 'no default route',
    );
  const extra = defaults.slice(1);
  return result(
    id,
    title,
    'warn',
    `${defaults.length} default routes (${defaults.map((r) => `via ${r.gateway ?? '?'} dev ${r.dev ?? '?'}`).join(', ')}): replies may leave by the wrong one (the seed's second GATEWAY= line does this)`,
    fixLines(model, [
      ...extra.map(
        (r) =>
          `ip route del default${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`,
      ),
      'and remove that gateway from the NIC configuration (only one interface may have a gateway)',
    ]),
  );
};

// ---------------------------------------------------------------------------------------------
// Services

export const serviceListening: Check = ({ probes, model }) => {
  const id = 'service-listening';
  const title = 'The service listens on the VIP or 0.0.0.0 on a real server';
  if (model.served.length === 0) return result(id, title, 'skip', 'not a real server');
  const known = model.served.filter((s) => s.port > 0);
  if (known.length === 0)
    return result(id, title, 'skip', "without --lab the service's port is unknown");
  if (probes.listeners === null)
    return result(id, title, 'skip', 'ss is not available to list listening sockets');
  const listeners = probes.listeners;
  const problems: string[] = [];
  const fixes: string[] = [];
  const good: string[] = [];
  for (const s of known) {
    const target = s.mode === 'nat' ? s.address : s.vip;
    const same = listeners.filter((l) => l.protocol === s.protocol && l.port === s.port);
    const ok = same.find((l) => isWildcard(l.address) || l.address === target);
    if (ok) {
      good.push(`${s.name}: ${s.protocol} ${ok.address}:${s.port}`);
      continue;
    }
    if (same.length > 0) {
      problems.push(
        `${s.name}: ${s.protocol} port ${s.port} is open only on ${same.map((l) => l.address).join(', ')}; ${s.mode === 'nat' ? 'NAT' : s.mode.toUpperCase()} delivers requests to ${target}:${s.port}`,
      );
      fixes.push(
        `make the service listen on 0.0.0.0:${s.port} or ${target}:${s.port} (nginx: "listen ${s.port};"), then restart it`,
      );
    } else {
      problems.push(`${s.name}: nothing listens on ${s.protocol} port ${s.port}`);
      fixes.push(
        `start the service on port ${s.port}: systemctl enable --now nginx (or the server you run there)`,
      );
    }
  }
  if (problems.length > 0)
    return result(id, title, 'fail', list(problems), fixLines(model, [...new Set(fixes)]));
  return result(id, title, 'pass', list(good));
};

export const realServersReachable: Check = ({ probes, model }) => {
  const id = 'real-servers-reachable';
  const title = 'Real servers reachable on their port from this director';
  if (!isDirector(model)) return result(id, title, 'skip', 'not a director');
  if (probes.reach === null || probes.reach.length === 0)
    return result(id, title, 'skip', 'no real servers to try');
  const tried = probes.reach.filter((r) => r.status !== 'skipped');
  if (tried.length === 0)
    return result(id, title, 'skip', list([...new Set(probes.reach.map((r) => r.detail))]));
  const bad = tried.filter((r) => r.status !== 'open');
  const name = (r: (typeof tried)[number]) => `${r.host ?? r.address} ${r.address}:${r.port}`;
  const notTried = probes.reach.filter((r) => r.detail.startsWith('not tried')).length;
  const more = notTried ? `; ${notTried} more not tried here (lvs-setup doctor tries all)` : '';
  if (bad.length === 0)
    return result(id, title, 'pass', `connected to ${tried.map(name).join(', ')}${more}`);
  return result(
    id,
    title,
    'fail',
    list(bad.map((r) => `${name(r)}: ${r.status}${r.detail ? ` (${r.detail})` : ''}`)),
    [
      ...bad.map(
        (r) =>
          `on ${r.host ?? r.address}: systemctl enable --now nginx (or the server on port ${r.port}); firewall-cmd --permanent --add-port=${r.port}/${r.protocol} && firewall-cmd --reload`,
      ),
      `from here: ping -c1 ${bad[0]?.address ?? ''} (a timeout means no route or a firewall drop; refused means nothing listens)`,
    ].join('\n'),
  );
};

function destinationKey(address: string, port: number, forward: string): string {
  return `${address}:${port} ${forward}`;
}

const FORWARD_OF_MODE = { nat: 'masq', dr: 'route', tun: 'tunnel' } as const;
const FLAG_OF_FORWARD: Record<string, string> = {
  masq: 'NAT (-m)',
  route: 'DR (-g)',
  tunnel: 'TUN (-i)',
};

export const ipvsTable: Check = ({ facts, model }) => {
  const id = 'ipvs-table';
  const title = "The IPVS table has the lab's services";
  if (model.source !== 'lab' || !isDirector(model))
    return result(id, title, 'skip', model.source === 'lab' ? 'not a director' : 'needs --lab');
  if (model.ha && !(facts.services.keepalived?.active ?? false))
    return result(
      id,
      title,
      'skip',
      'keepalived builds the table and is not running (see keepalived-service)',
    );
  if (facts.ipvs.services === null)
    return result(
      id,
      title,
      'skip',
      'the table could not be read (ipvsadm -Sn needs root and ipvsadm)',
    );
  const live = facts.ipvs.services;
  const problems: string[] = [];
  for (const s of model.directed) {
    const entry = live.find((e) => e.protocol === s.protocol && e.address === `${s.vip}:${s.port}`);
    if (!entry) {
      problems.push(`${s.name}: no ${s.protocol} ${s.vip}:${s.port} in the table`);
      continue;
    }
    if (model.ha) continue; // keepalived removes real servers whose check fails: only the service is certain.
    if (s.scheduler && entry.scheduler !== s.scheduler)
      problems.push(`${s.name}: scheduler ${entry.scheduler}, the lab says ${s.scheduler}`);
    for (const rs of s.realServers) {
      const d = entry.destinations.find((x) => x.address === rs.address && x.port === rs.port);
      const want = s.mode ? FORWARD_OF_MODE[s.mode] : null;
      if (!d) problems.push(`${s.name}: real server ${rs.address}:${rs.port} is missing`);
      else if (want && d.forward !== want)
        problems.push(
          `${s.name}: ${rs.address}:${rs.port} is forwarded with ${FLAG_OF_FORWARD[d.forward]}, the lab says ${FLAG_OF_FORWARD[want]} (one forwarding flag per line: the last one wins)`,
        );
    }
  }
  if (problems.length > 0)
    return result(
      id,
      title,
      'fail',
      list(problems),
      model.applyCommand ?? 'run lvs-setup apply with the lab file',
    );
  return result(id, title, 'pass', `${model.directed.length} service(s) as in the lab`);
};

export const tableOwner: Check = ({ facts, model, probes }) => {
  const id = 'table-owner';
  const title = 'One owner of the IPVS table (ipvsadm.service or keepalived, not both)';
  if (!isDirector(model)) return result(id, title, 'skip', 'not a director');
  const c = conf(probes);
  const keepalived =
    (model.ha !== null || keepalivedOwnsTable(c)) &&
    (enabledAtBoot(facts, probes, 'keepalived') || (facts.services.keepalived?.active ?? false)) &&
    (c === null || keepalivedOwnsTable(c));
  const ipvsadm = ipvsadmRestores(facts, probes);
  if (keepalived && ipvsadm) {
    const fix =
      facts.os.family === 'debian'
        ? `set AUTO="false" in /etc/default/ipvsadm (the init script would flush and reload the table keepalived builds)`
        : 'systemctl disable ipvsadm.service (disable, do not stop: stopping it runs ipvsadm -C and empties the table keepalived just built)';
    return result(
      id,
      title,
      'fail',
      'keepalived builds the table from its virtual_server blocks and ipvsadm restores a saved copy at boot: two owners fight, and a reboot or package upgrade leaves stale or duplicate rules',
      fixLines(model, [fix]),
    );
  }
  if (keepalived)
    return result(
      id,
      title,
      'pass',
      'keepalived owns the table; ipvsadm does not restore one at boot',
    );
  if (ipvsadm)
    return result(
      id,
      title,
      'pass',
      'ipvsadm restores the table at boot; keepalived does not manage it',
    );
  return result(id, title, 'pass', 'nothing restores the table at boot (see rules-persisted)');
};

export const rulesPersisted: Check = ({ facts, model, probes }) => {
  const id = 'rules-persisted';
  const title = 'IPVS rules come back after a reboot';
  if (!isDirector(model)) return result(id, title, 'skip', 'not a director');
  const c = conf(probes);
  if (model.ha || keepalivedOwnsTable(c)) {
    if (enabledAtBoot(facts, probes, 'keepalived'))
      return result(id, title, 'pass', 'keepalived is enabled: it rebuilds the table at boot');
    return result(
      id,
      title,
      'fail',
      'keepalived owns the table but is not enabled: after a reboot there is no VIP and no table',
      fixLines(model, ['systemctl enable keepalived']),
    );
  }
  const live = facts.ipvs.services;
  const reference =
    model.source === 'lab'
      ? model.directed.map((s) => ({
          key: `${s.protocol} ${s.vip}:${s.port}`,
          dests: s.realServers.map((rs) =>
            destinationKey(rs.address, rs.port, s.mode ? FORWARD_OF_MODE[s.mode] : 'route'),
          ),
        }))
      : (live ?? []).map((s) => ({
          key: `${s.protocol} ${s.address}`,
          dests: s.destinations.map((d) => destinationKey(d.address, d.port, d.forward)),
        }));
  if (model.source !== 'lab' && live === null)
    return result(
      id,
      title,
      'skip',
      'the table could not be read (ipvsadm -Sn needs root and ipvsadm)',
    );
  if (reference.length === 0) return result(id, title, 'skip', 'no IPVS services to keep');
  const path = probes.ipvsRules.path;
  if (probes.ipvsRules.present && probes.ipvsRules.content === null)
    return result(id, title, 'skip', `${path} cannot be read (run doctor as root)`);
  const saved = parseIpvsadmSave(probes.ipvsRules.content ?? '');
  const problems: string[] = [];
  if (!probes.ipvsRules.present) problems.push(`${path} does not exist`);
  else {
    for (const ref of reference) {
      const s = saved.find((x) => `${x.protocol} ${x.address}` === ref.key);
      if (!s) {
        problems.push(`${path} lacks ${ref.key}`);
        continue;
      }
      const have = new Set(s.destinations.map((d) => destinationKey(d.address, d.port, d.forward)));
      const missing = ref.dests.filter((d) => !have.has(d));
      if (missing.length > 0) problems.push(`${path} has ${ref.key} without ${missing.join(', ')}`);
    }
  }
  const restores = ipvsadmRestores(facts, probes);
  if (!restores)
    problems.push(
      facts.os.family === 'debian'
        ? 'the ipvsadm init script does not restore rules at boot (AUTO="true" in /etc/default/ipvsadm and the service enabled)'
        : 'ipvsadm.service is not enabled, so nothing restores the rules at boot',
    );
  if (problems.length === 0)
    return result(
      id,
      title,
      'pass',
      `${path} holds the ${reference.length} service(s) and is restored at boot`,
    );
  const fix =
    facts.os.family === 'debian'
      ? [
          `ipvsadm-save -n > ${path}`,
          'set AUTO="true" in /etc/default/ipvsadm',
          'systemctl enable ipvsadm',
        ]
      : [`ipvsadm-save -n > ${path}`, 'systemctl enable ipvsadm'];
  return result(
    id,
    title,
    'fail',
    `${list(problems)}: a reboot loses the table`,
    fixLines(model, fix),
  );
};

// ---------------------------------------------------------------------------------------------
// keepalived

function keepalivedApplicable(model: DoctorModel, probes: ProbeResults): string | null {
  if (!model.ha && !probes.keepalivedConf.present) return 'not an HA director (no keepalived.conf)';
  if (!probes.keepalivedConf.present)
    return 'no /etc/keepalived/keepalived.conf (see keepalived-service)';
  if (probes.keepalivedConf.content === null)
    return '/etc/keepalived/keepalived.conf cannot be read (mode 0640): run doctor as root';
  return null;
}

export const keepalivedService: Check = ({ facts, model, probes }) => {
  const id = 'keepalived-service';
  const title = 'keepalived installed, configured, enabled and running on an HA director';
  if (!model.ha) return result(id, title, 'skip', 'not an HA director');
  const problems: string[] = [];
  const fixes: string[] = [];
  const installed =
    (facts.services.keepalived?.present ?? false) || facts.versions.keepalived !== null;
  if (!installed) {
    problems.push('keepalived is not installed');
    fixes.push(
      facts.os.family === 'debian' ? 'apt-get install keepalived' : 'yum install keepalived',
    );
  }
  if (!probes.keepalivedConf.present) problems.push(`${probes.keepalivedConf.path} does not exist`);
  if (installed && !enabledAtBoot(facts, probes, 'keepalived')) {
    problems.push('keepalived is not enabled at boot');
    fixes.push('systemctl enable keepalived');
  }
  if (installed && !(facts.services.keepalived?.active ?? false)) {
    problems.push('keepalived is not running: no VRRP, so no director holds the VIP');
    fixes.push('systemctl start keepalived');
  }
  if (problems.length === 0) return result(id, title, 'pass', 'keepalived is enabled and running');
  return result(
    id,
    title,
    'fail',
    list(problems),
    fixLines(model, fixes.length ? fixes : ['write keepalived.conf']),
  );
};

export const vrrpStrict: Check = ({ model, probes }) => {
  const id = 'vrrp-strict';
  const title = 'No vrrp_strict without accept in keepalived.conf';
  const na = keepalivedApplicable(model, probes);
  if (na) return result(id, title, 'skip', na);
  const c = conf(probes);
  if (!c?.vrrpStrict) return result(id, title, 'pass', 'vrrp_strict is not set');
  const noAccept = c.instances.filter((i) => !i.accept);
  if (noAccept.length === 0)
    return result(id, title, 'pass', 'vrrp_strict is set, with accept in every vrrp_instance');
  return result(
    id,
    title,
    'fail',
    `vrrp_strict is set and vrrp_instance ${noAccept.map((i) => i.name).join(', ')} has no accept: strict mode implies no_accept, so the MASTER drops every packet addressed to the VIP`,
    `delete the line vrrp_strict from global_defs in /etc/keepalived/keepalived.conf (or add accept to vrrp_instance ${noAccept[0]?.name ?? 'VI_1'}), on both directors, then: systemctl restart keepalived`,
  );
};

export const authPassLength: Check = ({ model, probes }) => {
  const id = 'auth-pass';
  const title = 'auth_pass at most 8 characters';
  const na = keepalivedApplicable(model, probes);
  if (na) return result(id, title, 'skip', na);
  const c = conf(probes);
  const long = (c?.instances ?? []).filter((i) => (i.authPassLength ?? 0) > 8);
  if (long.length === 0) {
    const any = (c?.instances ?? []).some((i) => i.authPassLength !== null);
    return result(id, title, 'pass', any ? 'auth_pass has at most 8 characters' : 'no auth_pass');
  }
  // Only the length is shown: the password itself never appears in doctor's output.
  return result(
    id,
    title,
    'fail',
    `auth_pass of vrrp_instance ${long.map((i) => `${i.name} has ${i.authPassLength} characters`).join(', ')}: VRRP PASS authentication carries only 8, keepalived truncates the rest, so the password checked is not the one written`,
    `shorten auth_pass to at most 8 characters in /etc/keepalived/keepalived.conf on both directors${model.source === 'lab' ? ' (lab file: vrrp.auth_pass)' : ''}, then: systemctl restart keepalived`,
  );
};

export const nopreemptMaster: Check = ({ model, probes }) => {
  const id = 'nopreempt-master';
  const title = 'nopreempt only with state BACKUP';
  const na = keepalivedApplicable(model, probes);
  if (na) return result(id, title, 'skip', na);
  const c = conf(probes);
  const bad = (c?.instances ?? []).filter((i) => i.nopreempt && i.state === 'MASTER');
  if (bad.length === 0)
    return result(id, title, 'pass', 'no vrrp_instance combines nopreempt with state MASTER');
  return result(
    id,
    title,
    'fail',
    `vrrp_instance ${bad.map((i) => i.name).join(', ')} has nopreempt with state MASTER: keepalived ignores nopreempt then, so this director takes the VIP back whenever it returns`,
    `set state BACKUP in vrrp_instance ${bad[0]?.name ?? 'VI_1'} on both directors (the higher priority still wins the first election)${model.hostName ? `; lab file: hosts.${model.hostName}.ha.state: BACKUP` : ''}, then: systemctl restart keepalived`,
  );
};

export const vrrpRouterId: Check = ({ facts, model, probes }) => {
  const id = 'vrrp-router-id';
  const title = 'No other VRRP router uses our virtual_router_id';
  if (!model.ha) return result(id, title, 'skip', 'not an HA director');
  const ours = model.ha.routerId;
  if (ours === null) return result(id, title, 'skip', 'virtual_router_id is unknown');
  const sniff = probes.vrrp;
  if (!sniff) return result(id, title, 'skip', 'did not listen for VRRP adverts');
  if (sniff.status === 'skipped') return result(id, title, 'skip', sniff.reason);
  const local = localAddresses(facts);
  const foreign = sniff.adverts.filter((a) => !local.has(a.source));
  const sameId = foreign.filter((a) => a.vrid === ours);
  const seenIds = [...new Set(sniff.adverts.map((a) => a.vrid))].sort((a, b) => a - b);
  const intruders =
    model.source === 'lab'
      ? sameId.filter((a) => !model.ha?.peerAddresses.includes(a.source))
      : // Without the lab the peer is unknown: one other source is the peer, more is a clash.
        [...new Set(sameId.map((a) => a.source))].length > 1
        ? sameId
        : [];
  const sources = [...new Set(intruders.map((a) => a.source))];
  if (sources.length > 0) {
    let free = 1;
    while (seenIds.includes(free) && free < 255) free++;
    return result(
      id,
      title,
      'fail',
      `${sources.join(', ')} also send${sources.length === 1 ? 's' : ''} VRRP adverts for virtual_router_id ${ours} on ${sniff.interface}: both groups claim the same virtual MAC and fight over the VIP (ids seen: ${seenIds.join(', ')})`,
      model.source === 'lab'
        ? `pick an unused id, e.g. vrrp.router_id: ${free} in the lab file, then apply on both directors${model.applyCommand ? ` (${model.applyCommand})` : ''}`
        : `set virtual_router_id ${free} in /etc/keepalived/keepalived.conf on both directors, then: systemctl restart keepalived`,
    );
  }
  const others = seenIds.filter((v) => v !== ours);
  return result(
    id,
    title,
    'pass',
    `listened ${sniff.seconds} s on ${sniff.interface}: ${sniff.adverts.length} advert(s)${others.length ? `; other ids in use: ${others.join(', ')}` : ''}${sameId.length ? `; id ${ours} only from ${[...new Set(sameId.map((a) => a.source))].join(', ')}` : ''}`,
  );
};

// ---------------------------------------------------------------------------------------------
// Firewall

interface FwNeed {
  kind: 'port' | 'protocol' | 'service' | 'masquerade';
  value: string;
}

/** Ports that a firewalld service opens (the services a lab might allow instead of the port). */
const SERVICE_PORTS: Record<string, string[]> = {
  http: ['80/tcp'],
  https: ['443/tcp'],
  http3: ['443/udp'],
  dns: ['53/tcp', '53/udp'],
  ssh: ['22/tcp'],
  nfs: ['2049/tcp'],
  mysql: ['3306/tcp'],
  postgresql: ['5432/tcp'],
};

function isOpen(facts: HostFacts, n: FwNeed): boolean {
  const fw = facts.firewall;
  const rich = fw.richRules ?? [];
  switch (n.kind) {
    case 'port': {
      if (fw.ports?.includes(n.value)) return true;
      if ((fw.services ?? []).some((s) => SERVICE_PORTS[s]?.includes(n.value))) return true;
      const [port, proto] = n.value.split('/');
      return rich.some(
        (r) =>
          r.includes(`port="${port}"`) && r.includes(`protocol="${proto}"`) && /\baccept\b/.test(r),
      );
    }
    case 'protocol':
      return (
        (fw.protocols ?? []).some((p) => p === 'vrrp' || p === '112') ||
        rich.some((r) => /protocol value="(vrrp|112)"/.test(r) && /\baccept\b/.test(r))
      );
    case 'service':
      return (
        (fw.services ?? []).includes(n.value) ||
        (n.value === 'nfs' && (fw.services ?? []).includes('nfs3'))
      );
    case 'masquerade':
      return fw.masquerade ?? false;
  }
}

function firewalldAdd(n: FwNeed): string {
  return n.kind === 'masquerade' ? '--add-masquerade' : `--add-${n.kind}=${n.value}`;
}

function ufwAllow(n: FwNeed): string {
  switch (n.kind) {
    case 'port':
      return `ufw allow ${n.value}`;
    case 'protocol':
      return 'add "-A ufw-before-input -p vrrp -j ACCEPT" to /etc/ufw/before.rules, then: ufw reload';
    case 'service':
      return n.value === 'nfs'
        ? 'ufw allow 2049/tcp'
        : n.value === 'rpc-bind'
          ? 'ufw allow 111'
          : 'ufw allow mountd (give mountd a fixed port first)';
    case 'masquerade':
      return 'set DEFAULT_FORWARD_POLICY="ACCEPT" in /etc/default/ufw, then: ufw reload';
  }
}

function firewallCheck(
  id: string,
  title: string,
  needs: (m: DoctorModel) => FwNeed[],
  why: string,
): Check {
  return ({ facts, model }) => {
    const wanted = needs(model);
    if (wanted.length === 0) return result(id, title, 'skip', `not needed here (${why})`);
    const fw = facts.firewall;
    const what = wanted.map((n) => (n.kind === 'masquerade' ? 'masquerading' : n.value)).join(', ');
    if (fw.kind === 'none' || !fw.running)
      return result(
        id,
        title,
        'pass',
        `no firewall is running (${fw.kind === 'none' ? 'none installed' : `${fw.kind} stopped`})`,
      );
    if (fw.kind === 'ufw') {
      return result(
        id,
        title,
        'warn',
        `ufw is active and doctor cannot read its rules: it must allow ${what}`,
        [...new Set(wanted.map(ufwAllow))].join('\n'),
      );
    }
    const missing = wanted.filter((n) => !isOpen(facts, n));
    if (missing.length === 0)
      return result(id, title, 'pass', `firewalld (zone ${fw.zone ?? 'default'}) allows ${what}`);
    const lines = [
      ...missing.map((n) => `firewall-cmd --permanent ${firewalldAdd(n)}`),
      'firewall-cmd --reload',
    ];
    if (model.firewall === 'disable')
      lines.push('or, as the lab file says (firewall: disable): systemctl disable --now firewalld');
    return result(
      id,
      title,
      'fail',
      `firewalld is running (zone ${fw.zone ?? 'default'}) and does not allow ${missing.map((n) => (n.kind === 'masquerade' ? 'masquerading' : n.value)).join(', ')}${model.firewall === 'disable' ? '; the lab file says firewall: disable' : ''}`,
      fixLines(model, lines),
    );
  };
}

export const firewallService = firewallCheck(
  'firewall-service',
  'Firewall allows the load-balanced service',
  (m) => {
    const out: FwNeed[] = [];
    const add = (n: FwNeed) => {
      if (!out.some((o) => o.kind === n.kind && o.value === n.value)) out.push(n);
    };
    for (const d of m.directed) {
      if (d.port > 0) add({ kind: 'port', value: `${d.port}/${d.protocol}` });
      if (d.mode === 'nat') add({ kind: 'masquerade', value: 'masquerade' });
    }
    for (const s of m.served)
      if (s.port > 0) add({ kind: 'port', value: `${s.port}/${s.protocol}` });
    return out;
  },
  'not a director or real server with a known port',
);

export const firewallVrrp = firewallCheck(
  'firewall-vrrp',
  'Firewall allows VRRP (IP protocol 112)',
  (m) => (m.ha ? [{ kind: 'protocol', value: 'vrrp' }] : []),
  'not an HA director; blocked VRRP makes both directors MASTER',
);

export const firewallNfs = firewallCheck(
  'firewall-nfs',
  'Firewall allows NFS',
  (m) =>
    m.nfs
      ? [
          { kind: 'service', value: 'nfs' },
          { kind: 'service', value: 'rpc-bind' },
          { kind: 'service', value: 'mountd' },
        ]
      : [],
  'not an NFS server',
);

// ---------------------------------------------------------------------------------------------
// Persistence of kernel settings

/** The sysctls this host's role needs, with their values. */
export function requiredSysctls(facts: HostFacts, model: DoctorModel): Array<[string, string]> {
  const out = new Map<string, string>();
  if (natDirected(model).length > 0) {
    out.set('net.ipv4.ip_forward', '1');
    for (const n of ['all', ...model.nics]) out.set(`net.ipv4.conf.${n}.send_redirects`, '0');
    if ((facts.iptablesNat ?? []).some((l) => l.startsWith('-A ')))
      out.set('net.ipv4.vs.conntrack', '1');
  }
  if (drTun(model).length > 0) {
    for (const n of ['all', ...model.nics]) {
      out.set(`net.ipv4.conf.${n}.arp_ignore`, '1');
      out.set(`net.ipv4.conf.${n}.arp_announce`, '2');
    }
  }
  if (model.served.some((s: ServedService) => s.mode === 'tun')) {
    out.set('net.ipv4.conf.all.rp_filter', '0');
    out.set('net.ipv4.conf.tunl0.rp_filter', '0');
  }
  return [...out.entries()];
}

export const sysctlPersisted: Check = ({ facts, model, probes }) => {
  const id = 'sysctl-persisted';
  const title = 'Kernel settings kept after a reboot';
  const needed = requiredSysctls(facts, model);
  if (needed.length === 0) return result(id, title, 'skip', 'this role needs no kernel settings');
  const missing = needed.filter(([k, v]) => probes.sysctlPersisted[k]?.value !== v);
  if (missing.length === 0)
    return result(
      id,
      title,
      'pass',
      `${needed.length} setting(s) in /etc/sysctl.d or /etc/sysctl.conf`,
    );
  return result(
    id,
    title,
    'warn',
    `not in /etc/sysctl.d or /etc/sysctl.conf: ${missing.map(([k, v]) => `${k} = ${v}${probes.sysctlPersisted[k] ? ` (the file says ${probes.sysctlPersisted[k]?.value})` : ''}`).join(', ')}; a reboot brings back the defaults`,
    fixLines(model, [
      `add to ${SYSCTL_FILE}: ${missing.map(([k, v]) => `${k} = ${v}`).join('; ')}`,
      `then: sysctl -p ${SYSCTL_FILE}`,
    ]),
  );
};

// ---------------------------------------------------------------------------------------------

/** Every check, in the order they are shown. */
export const CHECKS: ReadonlyArray<Check> = [
  ipvsModule,
  ipForward,
  sendRedirects,
  vsConntrack,
  arpSysctls,
  rpFilter,
  vipLoopback,
  vipPlacement,
  natGateway,
  defaultRoute,
  serviceListening,
  realServersReachable,
  ipvsTable,
  tableOwner,
  rulesPersisted,
  keepalivedService,
  vrrpStrict,
  authPassLength,
  nopreemptMaster,
  vrrpRouterId,
  firewallService,
  firewallVrrp,
  firewallNfs,
  sysctlPersisted,
];

/** The model: from the lab when there is a context, else inferred from the host. */
export function buildModel(
  facts: HostFacts,
  ctx: PlanContext | null,
  probes: ProbeResults,
  labPath: string | null = null,
): DoctorModel {
  return ctx ? modelFromLab(ctx, facts, labPath) : inferModel(facts, probes);
}

/** Run every check; a check that throws becomes a failed check naming the error (never escapes). */
export function runChecks(
  facts: HostFacts,
  model: DoctorModel,
  probes: ProbeResults,
): CheckResult[] {
  return CHECKS.map((check, i) => {
    try {
      return check({ facts, model, probes });
    } catch (e) {
      return result(
        `check-${i}`,
        'internal error in a doctor check',
        'fail',
        `${(e as Error).message}`,
        'report this as a bug of lvs-setup',
      );
    }
  });
}
