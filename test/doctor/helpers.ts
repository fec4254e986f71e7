import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { validateLab } from '../../source/config/load.js';
import { hostAddresses, type Lab } from '../../source/config/resolve.js';
import { labSchema } from '../../source/config/schema.js';
import type { RunResult } from '../../source/boundary.js';
import { buildModel, requiredSysctls, type Check } from '../../source/doctor/checks.js';
import type { CheckResult, DoctorModel, ProbeResults } from '../../source/doctor/types.js';
import { targetFacts } from '../../source/facts/target.js';
import type { DistroKey, HostFacts, IpvsServiceEntry } from '../../source/facts/types.js';
import { makeContext } from '../../source/plan/plan.js';

/**
 * Healthy hosts for the doctor's checks: an example lab's host with everything its role needs
 * (addresses, sysctls, IPVS table, keepalived, listeners, persisted rules), built by hand from the
 * lab model so the tests do not depend on the recipes. Each test breaks one thing.
 */

const EXAMPLES = new URL('../../examples/', import.meta.url);

export function labData(name: string): Record<string, unknown> {
  return parseYaml(readFileSync(new URL(name, EXAMPLES), 'utf8')) as Record<string, unknown>;
}

export function labFromData(data: unknown): Lab {
  const r = validateLab(labSchema.parse(data));
  if (!r.ok) throw new Error(`invalid lab: ${JSON.stringify(r.issues)}`);
  return r.lab;
}

export function exampleLab(name: string, edit?: (d: Record<string, unknown>) => void): Lab {
  const data = labData(name);
  edit?.(data);
  return labFromData(data);
}

export const ok = (stdout = '', stderr = ''): RunResult => ({
  exitCode: 0,
  stdout,
  stderr,
  timedOut: false,
  notFound: false,
  durationMs: 1,
});
export const failed = (exitCode: number, stderr = ''): RunResult => ({
  exitCode,
  stdout: '',
  stderr,
  timedOut: false,
  notFound: false,
  durationMs: 1,
});
export const missing: RunResult = { ...failed(127, 'not found'), notFound: true };

export function emptyProbes(): ProbeResults {
  return {
    listeners: [],
    keepalivedConf: { path: '/etc/keepalived/keepalived.conf', present: false, content: null },
    ipvsRules: { path: '/etc/sysconfig/ipvsadm', present: false, content: null },
    ipvsadmDefaults: { path: '/etc/default/ipvsadm', present: false, content: null },
    unitEnabled: { ipvsadm: null, keepalived: null },
    exports: { path: '/etc/exports', present: false, content: null },
    sysctlPersisted: {},
    reach: null,
    vrrp: null,
  };
}

const FORWARD = { nat: 'masq', dr: 'route', tun: 'tunnel' } as const;

export function labTable(lab: Lab, host: string): IpvsServiceEntry[] {
  return lab.services
    .filter((s) => s.directors.includes(host))
    .map((s) => ({
      protocol: s.protocol,
      address: `${s.vip}:${s.port}`,
      scheduler: s.scheduler,
      persistence: s.persistence,
      destinations: s.realServers.map((rs) => ({
        address: rs.address,
        port: s.mode === 'nat' ? rs.port : s.port,
        forward: FORWARD[s.mode],
        weight: rs.weight,
      })),
    }));
}

export function saveText(table: IpvsServiceEntry[]): string {
  const flag = { tcp: '-t', udp: '-u', fwmark: '-f' } as const;
  const fwd = { masq: '-m', route: '-g', tunnel: '-i' } as const;
  return table
    .flatMap((s) => [
      `-A ${flag[s.protocol]} ${s.address} -s ${s.scheduler}${s.persistence ? ` -p ${s.persistence}` : ''}`,
      ...s.destinations.map(
        (d) =>
          `-a ${flag[s.protocol]} ${s.address} -r ${d.address}:${d.port} ${fwd[d.forward]} -w ${d.weight}`,
      ),
    ])
    .join('\n');
}

export function keepalivedConfText(
  lab: Lab,
  host: string,
  extra: {
    strict?: boolean;
    accept?: boolean;
    pass?: string;
    nopreempt?: boolean;
    state?: string;
  } = {},
): string {
  const h = lab.file.hosts[host];
  const vrrp = lab.file.vrrp;
  const services = lab.services.filter((s) => s.directors.includes(host));
  return [
    'global_defs {',
    `    router_id ${host}`,
    ...(extra.strict ? ['    vrrp_strict'] : []),
    '}',
    `vrrp_instance ${vrrp?.instance ?? 'VI_1'} {`,
    `    state ${extra.state ?? h?.ha?.state ?? 'BACKUP'}`,
    '    interface ens33',
    `    virtual_router_id ${vrrp?.router_id ?? 51}`,
    `    priority ${h?.ha?.priority ?? 100}`,
    ...(extra.nopreempt ? ['    nopreempt'] : []),
    ...(extra.accept ? ['    accept'] : []),
    '    authentication {',
    '        auth_type PASS',
    `        auth_pass ${extra.pass ?? vrrp?.auth_pass ?? '1111'}`,
    '    }',
    '    virtual_ipaddress {',
    ...[...new Set(services.map((s) => s.vip))].map(
      (v) => `        ${v}/32 dev ens33 label ens33:0`,
    ),
    '    }',
    '}',
    ...services.flatMap((s) => [
      `virtual_server ${s.vip} ${s.port} {`,
      `    lb_kind ${s.mode.toUpperCase()}`,
      '    protocol TCP',
      ...s.realServers.flatMap((rs) => [
        `    real_server ${rs.address} ${s.port} {`,
        '        weight 1',
        '    }',
      ]),
      '}',
    ]),
  ].join('\n');
}

export interface Healthy {
  lab: Lab;
  host: string;
  facts: HostFacts;
  model: DoctorModel;
  probes: ProbeResults;
}

/** A host of an example lab with everything right for its role. */
export function healthy(
  labOrName: Lab | string,
  host: string,
  distro: DistroKey = 'rocky9',
): Healthy {
  const lab = typeof labOrName === 'string' ? exampleLab(labOrName) : labOrName;
  const h = lab.file.hosts[host];
  if (!h) throw new Error(`no host ${host}`);
  const facts = structuredClone(targetFacts(distro, h));
  facts.firewall = { kind: 'none', running: false };
  for (const [nic, cfg] of Object.entries(h.interfaces)) {
    const n = facts.nics.find((x) => x.name === nic);
    if (n && cfg.address) {
      const [address = '', prefix = '24'] = cfg.address.split('/');
      n.addresses.push({ address, prefix: Number(prefix), family: 'inet' });
    }
    if (cfg.gateway) {
      facts.routes = {
        defaultGateway: cfg.gateway,
        defaultDev: nic,
        routes: [{ dst: 'default', gateway: cfg.gateway, dev: nic }],
      };
    }
  }
  const directed = lab.services.filter((s) => s.directors.includes(host));
  const served = lab.services.filter((s) => s.realServers.some((r) => r.host === host));
  const nics = Object.keys(h.interfaces);
  const set = (k: string, v: string) => (facts.sysctl[k] = v);

  if (directed.length > 0) {
    facts.ipvs = { available: true, loaded: true, services: labTable(lab, host) };
    facts.modules = ['ip_vs'];
    facts.packages.ipvsadm = '1.31';
    set('net.ipv4.vs.conntrack', '0');
    if (directed.some((s) => s.mode === 'nat')) {
      set('net.ipv4.ip_forward', '1');
      for (const n of ['all', 'default', ...nics]) set(`net.ipv4.conf.${n}.send_redirects`, '0');
      set('net.ipv4.vs.conntrack', '1');
      facts.iptablesNat = [
        '-P POSTROUTING ACCEPT',
        '-A POSTROUTING -s 192.168.81.0/24 -j MASQUERADE',
      ];
    }
    if (h.ha) {
      facts.services.keepalived = { present: true, active: true, enabled: true };
      facts.versions.keepalived = '2.2.8';
      facts.services.ipvsadm = { present: true, active: false, enabled: false };
      if (h.ha.state === 'MASTER') {
        for (const vip of new Set(directed.map((s) => s.vip))) {
          facts.nics
            .find((n) => n.name === 'ens33')
            ?.addresses.push({
              address: vip,
              prefix: 32,
              family: 'inet',
              label: 'ens33:0',
            });
        }
      }
    } else {
      facts.services.ipvsadm = { present: true, active: true, enabled: true };
      for (const s of directed) {
        const here = facts.nics.some((n) => n.addresses.some((a) => a.address === s.vip));
        if (!here)
          facts.nics
            .find((n) => n.name === nics[0])
            ?.addresses.push({
              address: s.vip,
              prefix: 32,
              family: 'inet',
              label: `${nics[0]}:0`,
            });
      }
    }
  }
  for (const s of served) {
    if (s.mode === 'dr' || s.mode === 'tun') {
      for (const n of ['all', 'lo', ...nics]) {
        set(`net.ipv4.conf.${n}.arp_ignore`, '1');
        set(`net.ipv4.conf.${n}.arp_announce`, '2');
      }
    }
    if (s.mode === 'dr') {
      facts.nics
        .find((n) => n.name === 'lo')
        ?.addresses.push({ address: s.vip, prefix: 32, family: 'inet', label: 'lo:0' });
    }
    if (s.mode === 'tun') {
      if (!facts.nics.some((n) => n.name === 'tunl0'))
        facts.nics.push({
          name: 'tunl0',
          state: 'UNKNOWN',
          mac: null,
          addresses: [],
          linkType: 'ipip',
        });
      facts.nics
        .find((n) => n.name === 'tunl0')
        ?.addresses.push({ address: s.vip, prefix: 32, family: 'inet' });
      facts.modules.push('ipip');
      for (const n of ['all', 'tunl0', ...nics]) set(`net.ipv4.conf.${n}.rp_filter`, '0');
      for (const k of ['send_redirects', 'arp_ignore', 'arp_announce'])
        set(
          `net.ipv4.conf.tunl0.${k}`,
          k === 'arp_ignore' ? '1' : k === 'arp_announce' ? '2' : '1',
        );
    }
  }

  const ctx = makeContext(lab, host, facts);
  const probes = emptyProbes();
  if (facts.os.family === 'debian') {
    probes.ipvsRules.path = '/etc/ipvsadm.rules';
  }
  const model = buildModel(facts, ctx, probes, `/root/${lab.file.name}.yaml`);
  probes.listeners = served.map((s) => ({
    protocol: s.protocol,
    address: '0.0.0.0',
    port: s.mode === 'nat' ? (s.realServers.find((r) => r.host === host)?.port ?? s.port) : s.port,
  }));
  if (directed.length > 0) {
    probes.reach = model.directed.flatMap((s) =>
      s.realServers.map((rs) => ({
        service: s.name,
        host: rs.host,
        address: rs.address,
        port: rs.port,
        protocol: s.protocol,
        status: 'open' as const,
        detail: 'connected',
      })),
    );
    if (h.ha) {
      probes.keepalivedConf = {
        path: '/etc/keepalived/keepalived.conf',
        present: true,
        content: keepalivedConfText(lab, host),
      };
      probes.unitEnabled = { ipvsadm: 'disabled', keepalived: 'enabled' };
      const peers = Object.keys(lab.file.hosts).filter((x) => lab.file.hosts[x]?.ha);
      probes.vrrp = {
        status: 'listened',
        interface: 'ens33',
        seconds: 3,
        adverts: peers.flatMap((p) =>
          hostAddresses(lab.file, p).map((a) => ({
            source: a.address,
            vrid: lab.file.vrrp?.router_id ?? 51,
            priority: lab.file.hosts[p]?.ha?.priority ?? null,
          })),
        ),
      };
    } else {
      probes.ipvsRules = {
        ...probes.ipvsRules,
        present: true,
        content: saveText(labTable(lab, host)),
      };
      probes.unitEnabled = { ipvsadm: 'enabled', keepalived: null };
      if (facts.os.family === 'debian')
        probes.ipvsadmDefaults = {
          path: '/etc/default/ipvsadm',
          present: true,
          content: 'AUTO="true"\n',
        };
    }
  }
  for (const [k, v] of requiredSysctls(facts, model))
    probes.sysctlPersisted[k] = { value: v, file: '/etc/sysctl.d/90-lvs-setup.conf' };
  return { lab, host, facts, model, probes };
}

/** Run one check on a healthy host after `mutate` broke something. */
export function runCheck(check: Check, h: Healthy, mutate?: (h: Healthy) => void): CheckResult {
  const copy: Healthy = {
    lab: h.lab,
    host: h.host,
    facts: structuredClone(h.facts),
    model: structuredClone(h.model),
    probes: structuredClone(h.probes),
  };
  mutate?.(copy);
  return check({ facts: copy.facts, model: copy.model, probes: copy.probes });
}
