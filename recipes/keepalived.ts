import { createHash } from 'node:crypto';
import { directorNicFor, type Lab, type ResolvedService } from '../source/config/resolve.js';
import { checkSchema, type LabCheck } from '../source/config/schema.js';
import type { HostFacts } from '../source/facts/types.js';
import { change, cmd, fileStep, ok, type CommandAction, type Step } from '../source/plan/step.js';
import {
  directedServices,
  isHaDirector,
  nicNames,
  type PlanContext,
  type Recipe,
} from './context.js';
import { DEBIAN_DEFAULTS_TEMPLATE, IPVSADM_DEBIAN_DEFAULTS, shellVarsStep } from './ipvs.js';
import { enableNowStep } from './templates/service.js';

/**
 * keepalived on HA directors: VRRP elects which director holds the VIPs, and the checker keeps the
 * IPVS table (virtual_server blocks) in step with the real servers that answer. The file is made
 * from the lab by a pure template; only keywords the host's keepalived version parses are written.
 */

export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
const CONF_MODE = 0o640; // holds auth_pass

// ---------------------------------------------------------------------------------------------
// Versions

/** Compare dotted versions: <0, 0, >0. "2.2.7" vs "2.0.4" > 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** What the keepalived in use parses, by version (checked against its sources, see below). */
export interface KeepalivedDialect {
  version: string;
  /**
   * TCP_CHECK's retry count: absent before 1.3.0 (1.2.x TCP_CHECK has no retry at all), `retry`
   * from 1.3.0 (check_tcp.c). `nb_get_retry` was never a TCP_CHECK keyword: 1.3.5 and 2.x log
   * "Unknown keyword 'nb_get_retry'" there and keep the default of 1 retry.
   */
  tcpRetry: 'retry' | null;
  /** HTTP_GET's retry count: `nb_get_retry` before 1.4.0, `retry` since (nb_get_retry deprecated). */
  httpRetry: 'retry' | 'nb_get_retry';
  /** `keepalived -t` (config test) exists since 2.0.4. */
  configTest: boolean;
}

/** Without a known version, the CentOS 7 one (the oldest the product supports). */
export const OLDEST_KEEPALIVED = '1.3.5';

export function keepalivedDialect(version: string | null): KeepalivedDialect {
  const v = version ?? OLDEST_KEEPALIVED;
  return {
    version: v,
    tcpRetry: compareVersions(v, '1.3.0') >= 0 ? 'retry' : null,
    httpRetry: compareVersions(v, '1.4.0') >= 0 ? 'retry' : 'nb_get_retry',
    configTest: compareVersions(v, '2.0.4') >= 0,
  };
}

// ---------------------------------------------------------------------------------------------
// VRRP password

/**
 * The VRRP PASS password: the lab's auth_pass, else one derived from the lab name and router id
 * (sha256, 8 characters), so both directors compute the same one and a re-plan gives the same file.
 * It is not a secret from anyone who has the lab file; VRRP sends it in clear text anyway.
 */
export function vrrpAuthPass(lab: Lab): { value: string; derived: boolean } | null {
  const vrrp = lab.file.vrrp;
  if (!vrrp) return null;
  if (vrrp.auth_pass) return { value: vrrp.auth_pass, derived: false };
  const digest = createHash('sha256')
    .update(`lvs-setup vrrp auth_pass\0${lab.file.name}\0${vrrp.router_id}`)
    .digest('base64url');
  return { value: digest.slice(0, 8), derived: true };
}

// ---------------------------------------------------------------------------------------------
// The template

const LB_KIND = { nat: 'NAT', dr: 'DR', tun: 'TUN' } as const;

/** The check of a service: the lab's, else a TCP connect with the schema's defaults (the seed's). */
function checkOf(service: ResolvedService): LabCheck {
  return service.check ?? checkSchema.parse({});
}

/** The interface VRRP runs on: ha.interface, else the NIC holding the (first) VIP's subnet. */
export function vrrpInterface(ctx: PlanContext): string {
  if (ctx.host.ha?.interface) return ctx.host.ha.interface;
  for (const s of directedServices(ctx)) {
    const nic = directorNicFor(ctx.lab.file, ctx.hostName, s.vip);
    if (nic) return nic.nic;
  }
  return nicNames(ctx)[0] ?? 'eth0';
}

/** `VIP/32 dev NIC label NIC:n`, one per distinct VIP, numbered per NIC. */
function virtualAddresses(ctx: PlanContext, fallbackNic: string): string[] {
  const seen = new Set<string>();
  const perNic = new Map<string, number>();
  const out: string[] = [];
  for (const s of directedServices(ctx)) {
    if (seen.has(s.vip)) continue;
    seen.add(s.vip);
    const nic = directorNicFor(ctx.lab.file, ctx.hostName, s.vip)?.nic ?? fallbackNic;
    const n = perNic.get(nic) ?? 0;
    perNic.set(nic, n + 1);
    out.push(`${s.vip}/32 dev ${nic} label ${nic}:${n}`);
  }
  return out;
}

function checkerBlock(
  service: ResolvedService,
  port: number,
  dialect: KeepalivedDialect,
): string[] {
  const check = checkOf(service);
  if (check.type === 'none') return [];
  const connectPort = check.port ?? port;
  if (check.type === 'http') {
    return [
      'HTTP_GET {',
      '    url {',
      `        path ${check.path ?? '/'}`,
      `        status_code ${check.status ?? 200}`,
      '    }',
      `    connect_timeout ${check.connect_timeout}`,
      `    connect_port ${connectPort}`,
      `    ${dialect.httpRetry} ${check.retry}`,
      `    delay_before_retry ${check.delay_before_retry}`,
      '}',
    ];
  }
  // A TCP connect says nothing about a UDP service: leave its servers unchecked.
  if (service.protocol === 'udp') return [];
  return [
    'TCP_CHECK {',
    `    connect_timeout ${check.connect_timeout}`,
    `    connect_port ${connectPort}`,
    ...(dialect.tcpRetry
      ? [
          `    ${dialect.tcpRetry} ${check.retry}`,
          `    delay_before_retry ${check.delay_before_retry}`,
        ]
      : []),
    '}',
  ];
}

function virtualServerBlock(service: ResolvedService, dialect: KeepalivedDialect): string[] {
  const check = checkOf(service);
  const body = [
    `delay_loop ${check.delay_loop}`,
    `lb_algo ${service.scheduler}`,
    `lb_kind ${LB_KIND[service.mode]}`,
    ...(service.persistence > 0 ? [`persistence_timeout ${service.persistence}`] : []),
    `protocol ${service.protocol.toUpperCase()}`,
  ];
  for (const rs of service.realServers) {
    // DR and TUN forward to the service's port; only NAT can rewrite it.
    const port = service.mode === 'nat' ? rs.port : service.port;
    body.push(
      '',
      `real_server ${rs.address} ${port} {`,
      ...indent([`weight ${rs.weight}`, ...checkerBlock(service, port, dialect)]),
      '}',
    );
  }
  return [`virtual_server ${service.vip} ${service.port} {`, ...indent(body), '}'];
}

const indent = (lines: string[]) => lines.map((l) => (l === '' ? l : `    ${l}`));

/** /etc/keepalived/keepalived.conf for this director. Pure: same lab and version, same text. */
export function keepalivedConf(ctx: PlanContext, _facts: HostFacts): string {
  const vrrp = ctx.lab.file.vrrp;
  const ha = ctx.host.ha;
  if (!vrrp || !ha) throw new Error(`internal: ${ctx.hostName} is not an HA director`);
  const dialect = keepalivedDialect(ctx.keepalivedVersion);
  const pass = vrrpAuthPass(ctx.lab);
  const nic = vrrpInterface(ctx);
  const out: string[] = [
    // No version here: a keepalived update that parses the same keywords must not rewrite the file.
    `# Written by lvs-setup for host ${ctx.hostName} of lab ${ctx.lab.file.name}.`,
    '# keepalived owns the VIPs (VRRP) and the IPVS table (virtual_server); edit the lab file, not this.',
    '',
    'global_defs {',
    `    router_id ${ctx.hostName}`,
    '}',
    '',
    `vrrp_instance ${vrrp.instance} {`,
    ...indent([
      `state ${ha.state}`,
      `interface ${nic}`,
      `virtual_router_id ${vrrp.router_id}`,
      `priority ${ha.priority}`,
      `advert_int ${vrrp.advert_int}`,
      ...(ha.nopreempt && ha.state === 'BACKUP' ? ['nopreempt'] : []),
      '',
      'authentication {',
      '    auth_type PASS',
      `    auth_pass ${pass?.value ?? ''}`,
      '}',
      'virtual_ipaddress {',
      ...indent(virtualAddresses(ctx, nic)),
      '}',
    ]),
    '}',
  ];
  for (const s of directedServices(ctx)) out.push('', ...virtualServerBlock(s, dialect));
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Steps

function confExplain(ctx: PlanContext): string {
  const dialect = keepalivedDialect(ctx.keepalivedVersion);
  const pass = vrrpAuthPass(ctx.lab);
  const parts = [
    `keepalived ${dialect.version}: the vrrp_instance elects the director that holds the VIP (highest priority wins; a BACKUP takes over when adverts stop for 3 × advert_int); each virtual_server is an IPVS service whose real servers stay in the table only while their check passes.`,
    dialect.tcpRetry
      ? `TCP_CHECK retries with "${dialect.tcpRetry}" (the seed's nb_get_retry is not a TCP_CHECK keyword: keepalived ignores it).`
      : 'This keepalived has no retry option in TCP_CHECK, so none is written.',
    'No vrrp_strict: it implies no_accept, and the director would then drop traffic to its own VIP.',
  ];
  if (pass?.derived) {
    parts.push(
      'The lab file sets no vrrp.auth_pass, so the password is derived from the lab name and router_id (the same on both directors, stable across runs); anyone with the lab file can derive it, so set vrrp.auth_pass (up to 8 characters) explicitly.',
    );
  }
  return parts.join(' ');
}

function confStep(ctx: PlanContext, facts: HostFacts): Step {
  const dialect = keepalivedDialect(ctx.keepalivedVersion);
  const after: CommandAction[] = [];
  if (dialect.configTest) {
    after.push(cmd(['keepalived', '-t', '-f', KEEPALIVED_CONF]));
  }
  after.push(cmd(['systemctl', 'restart', 'keepalived']));
  return fileStep({
    id: 'keepalived:conf',
    recipe: 'keepalived',
    path: KEEPALIVED_CONF,
    content: keepalivedConf(ctx, facts),
    mode: CONF_MODE,
    title: `Write ${KEEPALIVED_CONF} and restart keepalived`,
    explain: `${confExplain(ctx)} Mode 0640: it holds the VRRP password.${dialect.configTest ? ' keepalived -t checks the new file before the restart.' : ''}`,
    after,
  });
}

/** keepalived owns the table: ipvsadm's boot-time restore must not load another copy of it. */
function ipvsadmOffStep(facts: HostFacts): Step {
  if (facts.os.family === 'debian') {
    return shellVarsStep({
      id: 'keepalived:ipvsadm-off',
      recipe: 'keepalived',
      path: IPVSADM_DEBIAN_DEFAULTS,
      vars: { AUTO: 'false' },
      template: DEBIAN_DEFAULTS_TEMPLATE,
      okWhenAbsent: true,
      title: `Set AUTO="false" in ${IPVSADM_DEBIAN_DEFAULTS} (keepalived owns the IPVS table)`,
      explain:
        'With AUTO="true" the ipvsadm init script flushes the table and loads /etc/ipvsadm.rules at boot and on package upgrades, fighting keepalived, which owns the table on an HA director.',
    });
  }
  return {
    id: 'keepalived:ipvsadm-off',
    recipe: 'keepalived',
    title: 'Disable ipvsadm.service (keepalived owns the IPVS table)',
    explain:
      'ipvsadm.service would restore /etc/sysconfig/ipvsadm at boot next to the table keepalived builds. Disabled, not stopped: stopping it runs ipvsadm -C, which would empty the table keepalived just built.',
    decide(f) {
      const unit = f.services.ipvsadm;
      if (!unit?.enabled) return ok('ipvsadm.service is not enabled');
      return change('ipvsadm.service is enabled', [
        cmd(['systemctl', 'disable', 'ipvsadm.service'], {
          inverse: [{ argv: ['systemctl', 'enable', 'ipvsadm.service'] }],
        }),
      ]);
    },
  };
}

export const keepalivedRecipe: Recipe = (ctx, facts) => {
  if (!isHaDirector(ctx) || !ctx.lab.file.vrrp) return [];
  return [
    ipvsadmOffStep(facts),
    confStep(ctx, facts),
    enableNowStep({
      id: 'keepalived:service',
      recipe: 'keepalived',
      unit: 'keepalived',
      explain:
        'keepalived starts at every boot and runs now: it sends VRRP adverts, adds the VIP on the MASTER and builds the IPVS table.',
    }),
  ];
};
