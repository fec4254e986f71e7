import type { ResolvedService } from '../source/config/resolve.js';
import { SCHEDULER_HELP, type Mode } from '../source/config/schema.js';
import { parseIpvsadmSave } from '../source/facts/parse.js';
import type { HostFacts, IpvsDestination, IpvsServiceEntry } from '../source/facts/types.js';
import {
  change,
  cmd,
  ok,
  writeFile,
  type CommandSpec,
  type Decision,
  type Step,
} from '../source/plan/step.js';
import { directedServices, isHaDirector, type PlanContext, type Recipe } from './context.js';

/**
 * The IPVS table of a director without HA: the lab's services, applied in one `ipvsadm -R` batch
 * (one process, one netlink session: 1001 rules take 0.4 s instead of 53 s as separate calls), and
 * saved where the distro's ipvsadm service restores it at boot. Services of the table that are not
 * the lab's are never touched (no `ipvsadm -C`). On HA directors keepalived owns the table.
 */

export const IPVSADM_EL_FILE = '/etc/sysconfig/ipvsadm';
export const IPVSADM_DEBIAN_RULES = '/etc/ipvsadm.rules';
export const IPVSADM_DEBIAN_DEFAULTS = '/etc/default/ipvsadm';
/** The runlevel-2 start link update-rc.d makes for /etc/init.d/ipvsadm (Debian 10+: always S01). */
export const DEBIAN_RC_LINK = '/etc/rc2.d/S01ipvsadm';
const RULES_MODE = 0o644;

type ForwardFlag = '-m' | '-g' | '-i';
type Forward = IpvsDestination['forward'];

/** The one forwarding flag of a mode: a real server line can only ever get one of them. */
export const FORWARD_FLAG: Readonly<Record<Mode, ForwardFlag>> = { nat: '-m', dr: '-g', tun: '-i' };
const FORWARD_OF_MODE: Readonly<Record<Mode, Forward>> = {
  nat: 'masq',
  dr: 'route',
  tun: 'tunnel',
};
const FLAG_OF_FORWARD: Readonly<Record<Forward, ForwardFlag>> = {
  masq: '-m',
  route: '-g',
  tunnel: '-i',
};
const MODE_OF_FORWARD: Readonly<Record<Forward, string>> = {
  masq: 'NAT (-m)',
  route: 'DR (-g)',
  tunnel: 'TUN (-i)',
};

// ---------------------------------------------------------------------------------------------
// The table as data

/** The IPVS entries the lab wants on this director, in the `ipvsadm -Sn` model of the facts. */
export function desiredTable(services: readonly ResolvedService[]): IpvsServiceEntry[] {
  return services.map((s) => ({
    protocol: s.protocol,
    address: `${s.vip}:${s.port}`,
    scheduler: s.scheduler,
    persistence: s.persistence,
    destinations: s.realServers.map((rs) => ({
      address: rs.address,
      // DR and TUN cannot change the port (the kernel forces the service's); only NAT rewrites it.
      port: s.mode === 'nat' ? rs.port : s.port,
      forward: FORWARD_OF_MODE[s.mode],
      weight: rs.weight,
    })),
  }));
}

const serviceKey = (s: Pick<IpvsServiceEntry, 'protocol' | 'address'>) =>
  `${s.protocol} ${s.address}`;
const destKey = (d: Pick<IpvsDestination, 'address' | 'port'>) => `${d.address}:${d.port}`;

function serviceWords(s: Pick<IpvsServiceEntry, 'protocol' | 'address'>): string[] {
  return [s.protocol === 'tcp' ? '-t' : s.protocol === 'udp' ? '-u' : '-f', s.address];
}

/** `-t VIP:PORT -s SCHED [-p N]`: `-p` only when persistence is on (ipvsadm's default is 300). */
function serviceSpec(s: IpvsServiceEntry): string[] {
  return [
    ...serviceWords(s),
    '-s',
    s.scheduler,
    ...(s.persistence > 0 ? ['-p', String(s.persistence)] : []),
  ];
}

function destSpec(s: IpvsServiceEntry, d: IpvsDestination): string[] {
  return [...serviceWords(s), '-r', destKey(d), FLAG_OF_FORWARD[d.forward], '-w', String(d.weight)];
}

const line = (words: string[]) => words.join(' ');

/** The `ipvsadm -Sn` lines of a table (the format `ipvsadm -R` reads back). */
export function saveLines(table: readonly IpvsServiceEntry[]): string[] {
  return table.flatMap((s) => [
    line(['-A', ...serviceSpec(s)]),
    ...s.destinations.map((d) => line(['-a', ...destSpec(s, d)])),
  ]);
}

function ipv4Number(address: string): number {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p))) return 0;
  return (
    (((parts[0] ?? 0) << 24) |
      ((parts[1] ?? 0) << 16) |
      ((parts[2] ?? 0) << 8) |
      (parts[3] ?? 0)) >>>
    0
  );
}

function splitHostPort(text: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  return m ? { host: m[1] ?? '', port: Number(m[2]) } : { host: text, port: 0 };
}

/** libipvs compares with `int r = ntohl(a) - ntohl(b)`: the same 32-bit wrap-around, same order. */
const cmp32 = (a: number, b: number) => (a - b) | 0;
const PROTO_NUMBER = { fwmark: 0, tcp: 6, udp: 17 } as const;

/** The order `ipvsadm -S` prints: fwmark services last, then protocol, address, port; dests by address, port. */
export function sortTable(table: readonly IpvsServiceEntry[]): IpvsServiceEntry[] {
  const svcOrder = (a: IpvsServiceEntry, b: IpvsServiceEntry) => {
    const fa = a.protocol === 'fwmark' ? Number(a.address) : 0;
    const fb = b.protocol === 'fwmark' ? Number(b.address) : 0;
    if (fa !== fb) return cmp32(fa, fb);
    if (a.protocol !== b.protocol) return PROTO_NUMBER[a.protocol] - PROTO_NUMBER[b.protocol];
    const ha = splitHostPort(a.address);
    const hb = splitHostPort(b.address);
    return cmp32(ipv4Number(ha.host), ipv4Number(hb.host)) || ha.port - hb.port;
  };
  const destOrder = (a: IpvsDestination, b: IpvsDestination) =>
    cmp32(ipv4Number(a.address), ipv4Number(b.address)) || a.port - b.port;
  return [...table]
    .sort(svcOrder)
    .map((s) => ({ ...s, destinations: [...s.destinations].sort(destOrder) }));
}

/** Same services and destinations with the same settings, in any order. */
export function sameTable(a: readonly IpvsServiceEntry[], b: readonly IpvsServiceEntry[]): boolean {
  return line(saveLines(sortTable(a))) === line(saveLines(sortTable(b)));
}

// ---------------------------------------------------------------------------------------------
// The change: one batch forward, one batch back

export interface TableChange {
  /** `ipvsadm -R` lines that make the lab's services as desired. */
  lines: string[];
  /** `ipvsadm -R` lines that put back what the facts showed (computed before the change). */
  inverse: string[];
  /** What changes, for the plan's "now:" line. */
  notes: string[];
}

/**
 * Compare the lab's services with the current table. Only services the lab names are looked at:
 * another service in the table produces no line at all.
 */
export function diffTable(
  current: readonly IpvsServiceEntry[],
  desired: readonly IpvsServiceEntry[],
): TableChange {
  const byKey = new Map(current.map((s) => [serviceKey(s), s]));
  const lines: string[] = [];
  const inverse: string[] = [];
  const notes: string[] = [];
  for (const want of desired) {
    const have = byKey.get(serviceKey(want));
    const name = `${want.protocol.toUpperCase()} ${want.address}`;
    if (!have) {
      lines.push(line(['-A', ...serviceSpec(want)]));
      for (const d of want.destinations) lines.push(line(['-a', ...destSpec(want, d)]));
      // Deleting the service removes its destinations with it.
      inverse.push(line(['-D', ...serviceWords(want)]));
      notes.push(`add ${name} with ${want.destinations.length} real server(s)`);
      continue;
    }
    const changes: string[] = [];
    if (have.scheduler !== want.scheduler || have.persistence !== want.persistence) {
      lines.push(line(['-E', ...serviceSpec(want)]));
      inverse.push(line(['-E', ...serviceSpec(have)]));
      if (have.scheduler !== want.scheduler)
        changes.push(`scheduler ${have.scheduler} → ${want.scheduler}`);
      if (have.persistence !== want.persistence)
        changes.push(`persistence ${have.persistence} → ${want.persistence} s`);
    }
    const haveDests = new Map(have.destinations.map((d) => [destKey(d), d]));
    const wantKeys = new Set(want.destinations.map(destKey));
    for (const d of have.destinations) {
      if (wantKeys.has(destKey(d))) continue;
      lines.push(line(['-d', ...serviceWords(want), '-r', destKey(d)]));
      inverse.push(line(['-a', ...destSpec(have, d)]));
      changes.push(`remove ${destKey(d)} (not in the lab file)`);
    }
    for (const d of want.destinations) {
      const old = haveDests.get(destKey(d));
      if (!old) {
        lines.push(line(['-a', ...destSpec(want, d)]));
        inverse.push(line(['-d', ...serviceWords(want), '-r', destKey(d)]));
        changes.push(`add ${destKey(d)}`);
      } else if (old.forward !== d.forward || old.weight !== d.weight) {
        lines.push(line(['-e', ...destSpec(want, d)]));
        inverse.push(line(['-e', ...destSpec(have, old)]));
        const what: string[] = [];
        if (old.forward !== d.forward)
          what.push(`${MODE_OF_FORWARD[old.forward]} → ${MODE_OF_FORWARD[d.forward]}`);
        if (old.weight !== d.weight) what.push(`weight ${old.weight} → ${d.weight}`);
        changes.push(`${destKey(d)} ${what.join(', ')}`);
      }
    }
    if (changes.length > 0) notes.push(`${name}: ${changes.join('; ')}`);
  }
  return { lines, inverse, notes };
}

const batch = (lines: string[]) => `${lines.join('\n')}\n`;

/** `ipvsadm -R` with its batch on standard input, undone by the inverse batch. */
function restoreAction(change: TableChange) {
  // When the inverse only deletes services this run added, exit 255 ("No such service") counts
  // as done: the table may be empty already (a reboot without the boot-time restore, ipvsadm -C),
  // and undo must go on to the rest of the journal.
  const onlyDeletes = change.inverse.every((l) => l.startsWith('-D '));
  const inverse: CommandSpec[] =
    change.inverse.length > 0
      ? [
          {
            argv: ['ipvsadm', '-R'],
            input: batch(change.inverse),
            ...(onlyDeletes ? { okExitCodes: [0, 255] } : {}),
          },
        ]
      : [];
  return cmd(['ipvsadm', '-R'], { input: batch(change.lines), inverse });
}

// ---------------------------------------------------------------------------------------------
// Explanations

function describeService(s: ResolvedService): string {
  const parts = [
    `${s.name} (${s.protocol.toUpperCase()} ${s.vip}:${s.port}, ${s.mode.toUpperCase()} ${FORWARD_FLAG[s.mode]}): -s ${s.scheduler} is ${SCHEDULER_HELP[s.scheduler]}.`,
  ];
  if (s.persistence > 0) {
    parts.push(
      `-p ${s.persistence} makes it persistent: connections from one client address go to the same real server as long as that client has a connection or an entry younger than ${s.persistence} s, so sessions kept in a server's memory survive.`,
    );
  }
  return parts.join(' ');
}

function tableExplain(services: readonly ResolvedService[]): string {
  return [
    'ipvsadm -R reads the whole batch in one process, so even a thousand rules apply in a fraction of a second; only the lab’s services are added or edited (-A/-E, -a/-e/-d), others in the table stay as they are.',
    'Each real server gets exactly one forwarding flag from its mode: -m NAT (masquerading), -g DR (direct routing), -i TUN (IP-in-IP).',
    ...services.map(describeService),
  ].join(' ');
}

// ---------------------------------------------------------------------------------------------
// Persistence across reboots

/** /etc/default/ipvsadm with `key="value"` set (lines replaced in place, else appended). */
export function setShellVars(text: string, vars: Readonly<Record<string, string>>): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const [key, value] of Object.entries(vars)) {
    const wanted = `${key}="${value}"`;
    const re = new RegExp(`^\\s*${key}=`);
    const idx = lines.findIndex((l) => re.test(l));
    if (idx >= 0) lines[idx] = wanted;
    else lines.push(wanted);
  }
  return `${lines.join('\n')}\n`;
}

/** The Debian/Ubuntu package's /etc/default/ipvsadm, written when the file is absent. */
export const DEBIAN_DEFAULTS_TEMPLATE = `# ipvsadm

# if you want to start ipvsadm on boot set this to true
AUTO="false"

# daemon method (none|master|backup)
DAEMON="none"

# use interface (eth0,eth1...)
IFACE="eth0"

# syncid to use
# (0 means no filtering of syncids happen, that is the default)
# SYNCID="0"
`;

/** A step that sets shell variables in a file (keeping the rest of it). */
export function shellVarsStep(options: {
  id: string;
  recipe: string;
  path: string;
  vars: Readonly<Record<string, string>>;
  template: string;
  /** When the file is absent: nothing to do (true) or write the template with the vars. */
  okWhenAbsent?: boolean;
  title: string;
  explain: string;
}): Step {
  const { path, vars } = options;
  const wanted = Object.entries(vars)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return {
    id: options.id,
    recipe: options.recipe,
    title: options.title,
    explain: options.explain,
    reads: [path],
    decide(facts) {
      const current = facts.files[path];
      if (!current && options.okWhenAbsent) return ok(`${path} does not exist`);
      const content = setShellVars(current?.content ?? options.template, vars);
      if (current && current.content === content) return ok(`${path} already has ${wanted}`);
      return change(current ? `${path} does not have ${wanted}` : `${path} does not exist`, [
        writeFile(path, content, current?.mode ?? 0o644),
      ]);
    },
  };
}

function persistStep(ctx: PlanContext, facts: HostFacts, desired: IpvsServiceEntry[]): Step {
  const debian = facts.os.family === 'debian';
  const path = debian ? IPVSADM_DEBIAN_RULES : IPVSADM_EL_FILE;
  const ours = new Set(desired.map(serviceKey));
  return {
    id: 'ipvs:persist',
    recipe: 'ipvs',
    title: `Save the IPVS table to ${path} (restored at boot)`,
    explain: debian
      ? `The ipvsadm init script (run at boot by systemd's SysV generator) flushes the table and loads ${path} when AUTO="true"; a package upgrade does the same. So the file holds the whole table the host should have: the lab's services, plus any other service already saved there.`
      : `ipvsadm.service runs ipvsadm-restore < ${path} at boot (and saves the live table back into it when stopped). The file is in the ipvsadm -Sn format and holds the whole table the host should have: the lab's services, plus any other service already saved there.`,
    reads: [path],
    decide(f): Decision {
      const current = f.files[path];
      const kept = current
        ? parseIpvsadmSave(current.content).filter((s) => !ours.has(serviceKey(s)))
        : [];
      const table = sortTable([...kept, ...desired]);
      if (
        current &&
        current.mode === RULES_MODE &&
        sameTable(parseIpvsadmSave(current.content), table)
      )
        return ok(`${path} already holds the lab's services`);
      const header = debian
        ? `# ipvsadm.rules\n# Written by lvs-setup for lab ${ctx.lab.file.name}: loaded by /etc/init.d/ipvsadm at boot.\n`
        : '';
      const reason = !current
        ? `${path} does not exist`
        : current.mode !== RULES_MODE
          ? `${path} has mode ${current.mode.toString(8)}, want ${RULES_MODE.toString(8)}`
          : `${path} does not hold the lab's services as they should be`;
      return change(reason, [writeFile(path, `${header}${batch(saveLines(table))}`, RULES_MODE)]);
    },
  };
}

function bootSteps(ctx: PlanContext, facts: HostFacts, desired: IpvsServiceEntry[]): Step[] {
  const steps = [persistStep(ctx, facts, desired)];
  if (facts.os.family === 'debian') {
    steps.push(
      shellVarsStep({
        id: 'ipvs:boot',
        recipe: 'ipvs',
        path: IPVSADM_DEBIAN_DEFAULTS,
        vars: { AUTO: 'true', DAEMON: 'none' },
        template: DEBIAN_DEFAULTS_TEMPLATE,
        title: `Set AUTO="true" in ${IPVSADM_DEBIAN_DEFAULTS} (load the table at boot)`,
        explain: `/etc/init.d/ipvsadm only loads ${IPVSADM_DEBIAN_RULES} at boot when AUTO="true". DAEMON="none": no connection-sync daemon (that is for a pair of directors sharing connection state).`,
      }),
      {
        id: 'ipvs:enable',
        recipe: 'ipvs',
        title: 'Enable the ipvsadm init script (restore the table at boot)',
        explain: `The package links /etc/init.d/ipvsadm into the boot runlevels (update-rc.d in its postinst), but an image or an admin may have disabled it, and then AUTO="true" alone restores nothing at boot. \`systemctl enable\` runs update-rc.d for a SysV script. Not started now: the table is already loaded.`,
        reads: [DEBIAN_RC_LINK],
        decide(f) {
          if (f.services.ipvsadm?.enabled || f.files[DEBIAN_RC_LINK])
            return ok('the ipvsadm init script runs at boot');
          return change(
            `${DEBIAN_RC_LINK} does not exist: the ipvsadm init script does not run at boot`,
            [
              cmd(['systemctl', 'enable', 'ipvsadm'], {
                inverse: [{ argv: ['systemctl', 'disable', 'ipvsadm'] }],
              }),
            ],
          );
        },
      },
    );
  } else {
    steps.push({
      id: 'ipvs:boot',
      recipe: 'ipvs',
      title: 'Enable ipvsadm.service (restore the table at boot)',
      explain: `Enabled, not started: the table is already loaded, and starting it now would load ${IPVSADM_EL_FILE} a second time on top of it. Beware: stopping ipvsadm.service saves the live table into ${IPVSADM_EL_FILE} and then clears the table (ipvsadm -C).`,
      decide(f) {
        const unit = f.services.ipvsadm;
        if (unit?.enabled) return ok('ipvsadm.service is already enabled');
        return change(
          unit?.present ? 'ipvsadm.service is disabled' : 'ipvsadm.service is not installed yet',
          [
            cmd(['systemctl', 'enable', 'ipvsadm.service'], {
              inverse: [{ argv: ['systemctl', 'disable', 'ipvsadm.service'] }],
            }),
          ],
        );
      },
    });
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------

function tableStep(services: ResolvedService[], desired: IpvsServiceEntry[]): Step {
  return {
    id: 'ipvs:table',
    recipe: 'ipvs',
    title: `Load the IPVS table (${services.length} service${services.length === 1 ? '' : 's'}, one ipvsadm -R batch)`,
    explain: tableExplain(services),
    decide(facts) {
      const current = facts.ipvs.services ?? [];
      const diff = diffTable(current, desired);
      if (diff.lines.length === 0)
        return ok(
          `the IPVS table already has the lab's services${current.length > desired.length ? ' (other services left as they are)' : ''}`,
        );
      const unread =
        facts.ipvs.services === null
          ? ` (IPVS table ${facts.ipvs.loaded ? 'unreadable' : 'empty: ip_vs is not loaded yet'})`
          : '';
      return change(`${diff.notes.join('; ')}${unread}`, [restoreAction(diff)]);
    },
  };
}

export const ipvsRecipe: Recipe = (ctx, facts) => {
  if (ctx.host.role !== 'director' || isHaDirector(ctx)) return [];
  const services = directedServices(ctx);
  if (services.length === 0) return [];
  const desired = desiredTable(services);
  return [tableStep(services, desired), ...bootSteps(ctx, facts, desired)];
};
