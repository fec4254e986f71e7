import type { z } from 'zod';
import {
  exportSchema,
  haSchema,
  interfaceSchema,
  labSchema,
  MODES,
  realServerSchema,
  SCHEDULER_HELP,
  SCHEDULERS,
  serviceSchema,
  vrrpSchema,
  type Mode,
  type Scheduler,
} from '../config/schema.js';
import type { HostFacts } from '../facts/types.js';
import { value, type AnswerContext, type Answers } from './answers.js';
import { cidrOf, primaryIPv4, usableNics } from './host-view.js';
import {
  FIREWALL_HELP,
  HA_HELP,
  MODE_LESSONS,
  modeHelp,
  NIC_USE_HELP,
  ROLE_HELP,
} from './teach.js';

/**
 * The questions, as data: each screen's fields with their current value, the schema's message when
 * the value is invalid, and help. The Ink screens and the plain line mode render the same list, so
 * both ask the same questions and reject the same input with the lab-file schema's own words.
 */

export type ScreenId =
  | 'detect'
  | 'load'
  | 'role'
  | 'mode'
  | 'service'
  | 'real-servers'
  | 'director'
  | 'ha'
  | 'exports'
  | 'network'
  | 'firewall'
  | 'review'
  | 'execute'
  | 'done';

export const SCREEN_TITLES: Record<ScreenId, string> = {
  detect: 'This host',
  load: 'Lab file',
  role: 'Role',
  mode: 'Forwarding mode',
  service: 'Service',
  'real-servers': 'Real servers',
  director: 'Director',
  ha: 'High availability',
  exports: 'NFS exports',
  network: 'Network',
  firewall: 'Firewall',
  review: 'Review',
  execute: 'Apply',
  done: 'Done',
};

export interface OptionView {
  value: string;
  label: string;
  help: string;
  /** Why this option cannot be chosen now, if it cannot. */
  disabled?: string;
}

export interface FieldView {
  id: string;
  label: string;
  kind: 'text' | 'choice';
  value: string;
  /** The schema's message for the current value, or null when valid. */
  error: string | null;
  /** One or more lines under the field (for a choice: the selected option's help). */
  help: string;
  options: OptionView[];
  /** Shown as *** (the VRRP password). */
  secret: boolean;
  /** A heading the field belongs to (the NIC on the network screen). */
  group?: string;
  placeholder?: string;
  /** Choices shown as a vertical list (many options, or long help) instead of inline. */
  layout?: 'inline' | 'list';
}

// ---- validation with the lab-file schema ------------------------------------------------------

/** The first message the schema gives for `input`, or null when it accepts it. */
export function schemaMessage(schema: z.ZodType, input: unknown): string | null {
  const r = schema.safeParse(input);
  return r.success ? null : (r.error.issues[0]?.message ?? 'invalid');
}

/** '' → undefined (let the schema's default or "missing" apply), else a number (NaN if not one). */
export function toNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  return /^[+-]?(\d+\.?\d*|\.\d+)$/.test(t) ? Number(t) : Number.NaN;
}

/** "8.8.8.8, 1.1.1.1" → ['8.8.8.8', '1.1.1.1']; empty → undefined. */
export function toList(text: string): string[] | undefined {
  const items = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length > 0 ? items : undefined;
}

const ipv4 = serviceSchema.shape.vip;
const cidr = interfaceSchema.shape.address.unwrap();
const nicName = haSchema.shape.interface.unwrap();

export const validators = {
  name: (v: string) => schemaMessage(labSchema.shape.name, v.trim()),
  hostName: (v: string) => schemaMessage(realServerSchema.shape.host, v.trim()),
  ipv4: (v: string) => schemaMessage(ipv4, v.trim()),
  cidr: (v: string) => schemaMessage(cidr, v.trim()),
  optionalIpv4: (v: string) =>
    v.trim() === '' ? null : schemaMessage(interfaceSchema.shape.gateway, v.trim()),
  dns: (v: string) => schemaMessage(interfaceSchema.shape.dns, toList(v)),
  port: (v: string) => schemaMessage(serviceSchema.shape.port, toNumber(v)),
  persistence: (v: string) => schemaMessage(serviceSchema.shape.persistence, toNumber(v)),
  weight: (v: string) => schemaMessage(realServerSchema.shape.weight, toNumber(v)),
  nic: (v: string) => schemaMessage(nicName, v.trim()),
  priority: (v: string) => schemaMessage(haSchema.shape.priority, toNumber(v)),
  routerId: (v: string) => schemaMessage(vrrpSchema.shape.router_id, toNumber(v)),
  advertInt: (v: string) => schemaMessage(vrrpSchema.shape.advert_int, toNumber(v)),
  authPass: (v: string) => schemaMessage(vrrpSchema.shape.auth_pass.unwrap(), v),
  exportPath: (v: string) => schemaMessage(exportSchema.shape.path, v.trim()),
  exportClients: (v: string) => schemaMessage(exportSchema.shape.clients, v.trim() || undefined),
  exportOptions: (v: string) => schemaMessage(exportSchema.shape.options, toList(v)),
};

/** The resolver's words for NAT behind HA directors (source/config/resolve.ts). */
export const HA_NAT_MESSAGE =
  'HA directors with NAT need a floating gateway address for the real servers, which lvs-setup does not manage yet; use dr or tun with HA';

// ---- fields per screen --------------------------------------------------------------------------

function text(
  ctx: AnswerContext,
  id: string,
  label: string,
  validate: (v: string) => string | null,
  help = '',
  extra: Partial<FieldView> = {},
): FieldView {
  const v = value(ctx, id);
  return {
    id,
    label,
    kind: 'text',
    value: v,
    error: validate(v),
    help,
    options: [],
    secret: false,
    ...extra,
  };
}

function choice(
  ctx: AnswerContext,
  id: string,
  label: string,
  options: OptionView[],
  extra: Partial<FieldView> = {},
): FieldView {
  const v = value(ctx, id);
  const selected = options.find((o) => o.value === v);
  const error = !selected
    ? `expected one of ${options.map((o) => o.value).join(', ')}`
    : (selected.disabled ?? null);
  return {
    id,
    label,
    kind: 'choice',
    value: v,
    error,
    help: selected?.help ?? '',
    options,
    secret: false,
    ...extra,
  };
}

const opts = (help: Record<string, string>): OptionView[] =>
  Object.entries(help).map(([v, h]) => ({ value: v, label: v, help: h }));

function roleFields(ctx: AnswerContext): FieldView[] {
  const out = [
    choice(ctx, 'role', 'This host is', opts(ROLE_HELP)),
    ...(value(ctx, 'role') === 'director'
      ? [
          choice(
            ctx,
            'ha',
            'Directors',
            Object.entries(HA_HELP).map(([v, h]) => ({
              value: v,
              label: v === 'none' ? 'single' : `HA ${v}`,
              help: h,
            })),
          ),
        ]
      : []),
    text(
      ctx,
      'hostName',
      'Its name in the lab',
      validators.hostName,
      'the key under hosts: in the lab file; `apply --host NAME` on this machine',
    ),
    text(
      ctx,
      'labName',
      'Lab name',
      validators.name,
      'names the lab file (NAME.yaml) the other hosts apply',
    ),
  ];
  return out;
}

function modeFields(ctx: AnswerContext): FieldView[] {
  const ha = value(ctx, 'role') === 'director' && value(ctx, 'ha') !== 'none';
  const options: OptionView[] = MODES.map((m) => ({
    value: m,
    label: m,
    help: `${MODE_LESSONS[m].title}\n${modeHelp(m)}`,
    ...(m === 'nat' && ha ? { disabled: HA_NAT_MESSAGE } : {}),
  }));
  return [choice(ctx, 'mode', 'Mode', options, { layout: 'list' })];
}

function serviceFields(ctx: AnswerContext): FieldView[] {
  const nat = value(ctx, 'mode') === 'nat';
  return [
    text(ctx, 'service.name', 'Service name', validators.name, 'a name for this service'),
    text(
      ctx,
      'service.vip',
      'VIP',
      validators.ipv4,
      nat
        ? 'the address clients connect to; with NAT often the director’s public address (the seed uses .141)'
        : 'the virtual IP clients connect to: a free address on the director’s subnet',
      { placeholder: '192.168.91.148' },
    ),
    text(
      ctx,
      'service.port',
      'Port',
      validators.port,
      'the port clients connect to (80 for nginx)',
    ),
    choice(ctx, 'service.protocol', 'Protocol', [
      { value: 'tcp', label: 'tcp', help: 'TCP (web servers)' },
      { value: 'udp', label: 'udp', help: 'UDP (DNS, syslog …)' },
    ]),
    choice(
      ctx,
      'service.scheduler',
      'Scheduler',
      SCHEDULERS.map((s: Scheduler) => ({ value: s, label: s, help: SCHEDULER_HELP[s] })),
      { layout: 'list' },
    ),
    text(
      ctx,
      'service.persistence',
      'Persistence (s)',
      validators.persistence,
      'ipvsadm -p: a client sticks to one real server this long; 0 = off',
    ),
  ];
}

function directorFields(ctx: AnswerContext): FieldView[] {
  const nat = value(ctx, 'mode') === 'nat';
  const fields = [
    text(ctx, 'director.name', 'Director name', validators.hostName, 'its name in the lab'),
    text(
      ctx,
      'director.address',
      'Its address here',
      validators.cidr,
      nat
        ? 'the director’s address on this host’s subnet, with prefix: the DIP, this host’s gateway'
        : 'the director’s address on the VIP’s subnet, with prefix',
      { placeholder: '192.168.81.141/24' },
    ),
  ];
  if (nat) {
    fields.push(
      text(
        ctx,
        'director.vipAddress',
        'Its public address',
        (v) => (v.trim() === '' ? null : validators.cidr(v)),
        'NAT: the director’s address on the VIP’s subnet, with prefix (empty when the VIP is on the same subnet)',
        { placeholder: '192.168.91.141/24' },
      ),
    );
  }
  return fields;
}

function haFields(ctx: AnswerContext): FieldView[] {
  const backup = value(ctx, 'ha') === 'BACKUP';
  return [
    text(
      ctx,
      'ha.priority',
      'Priority',
      validators.priority,
      'the higher priority holds the VIP (seed: MASTER 100, BACKUP 90)',
    ),
    text(
      ctx,
      'ha.routerId',
      'Virtual router id',
      validators.routerId,
      'virtual_router_id: the same on both directors, unique on the link',
    ),
    text(
      ctx,
      'ha.advertInt',
      'Advert interval (s)',
      validators.advertInt,
      'how often the MASTER says it is alive',
    ),
    text(
      ctx,
      'ha.authPass',
      'Password',
      validators.authPass,
      'auth_pass, at most 8 characters (VRRP uses only 8); generated for you — type to replace it',
      { secret: true },
    ),
    text(
      ctx,
      'ha.peerName',
      backup ? 'MASTER’s name' : 'BACKUP’s name',
      validators.hostName,
      'the other director of the pair',
    ),
    text(
      ctx,
      'ha.peerAddress',
      backup ? 'MASTER’s address' : 'BACKUP’s address',
      validators.cidr,
      'its address on the VIP’s subnet, with prefix',
      { placeholder: '192.168.91.149/24' },
    ),
  ];
}

function nicLabel(facts: HostFacts, name: string): string {
  const nic = facts.nics.find((n) => n.name === name);
  if (!nic) return name;
  const v4 = primaryIPv4(nic);
  const def = facts.routes.defaultDev === name ? ', default route' : '';
  return `${name} (${nic.state}, ${v4 ? cidrOf(v4) : 'no address'}${nic.mac ? `, ${nic.mac}` : ''}${def})`;
}

function networkFields(ctx: AnswerContext): FieldView[] {
  const out: FieldView[] = [];
  for (const nic of usableNics(ctx.facts)) {
    const group = nicLabel(ctx.facts, nic.name);
    const base = `nic.${nic.name}`;
    const hasV4 = primaryIPv4(nic) !== null;
    const options = opts(NIC_USE_HELP).filter((o) => o.value !== 'keep' || hasV4);
    out.push(choice(ctx, `${base}.use`, 'Use', options, { group }));
    if (value(ctx, `${base}.use`) === 'static') {
      out.push(
        text(ctx, `${base}.address`, 'Address', validators.cidr, 'with prefix', {
          group,
          placeholder: '192.168.91.141/24',
        }),
        text(
          ctx,
          `${base}.gateway`,
          'Gateway',
          validators.optionalIpv4,
          'the default route; only one NIC has one (empty = none)',
          { group },
        ),
        text(ctx, `${base}.dns`, 'DNS', validators.dns, 'up to 3 addresses, comma-separated', {
          group,
        }),
      );
    }
  }
  return out;
}

function firewallFields(ctx: AnswerContext): FieldView[] {
  return [choice(ctx, 'firewall', 'Firewall', opts(FIREWALL_HELP))];
}

/** The fields of a form screen (empty for the other screens). */
export function screenFields(screen: ScreenId, ctx: AnswerContext): FieldView[] {
  switch (screen) {
    case 'role':
      return roleFields(ctx);
    case 'mode':
      return modeFields(ctx);
    case 'service':
      return serviceFields(ctx);
    case 'director':
      return directorFields(ctx);
    case 'ha':
      return haFields(ctx);
    case 'network':
      return networkFields(ctx);
    case 'firewall':
      return firewallFields(ctx);
    default:
      return [];
  }
}

// ---- list screens -------------------------------------------------------------------------------

export function realServerFields(ctx: AnswerContext, index: number): FieldView[] {
  const rs = ctx.answers.realServers[index];
  if (!rs) return [];
  const others = ctx.answers.realServers.filter((_, i) => i !== index);
  const me = value(ctx, 'hostName');
  const nameError = (v: string) => {
    const base = validators.hostName(v);
    if (base) return base;
    if (v.trim() === me) return 'is this host’s name; expected another name';
    if (others.some((o) => o.name.trim() === v.trim())) return 'listed twice in this service';
    return null;
  };
  const addressError = (v: string) => {
    const base = validators.ipv4(v);
    if (base) return base;
    if (others.some((o) => o.address.trim() === v.trim())) return 'address already used';
    if (v.trim() === value(ctx, 'service.vip').trim())
      return 'is the VIP; expected the real server’s own address';
    return null;
  };
  const p = `rs.${index}`;
  const mk = (
    id: string,
    label: string,
    v: string,
    error: string | null,
    help: string,
  ): FieldView => ({ id, label, kind: 'text', value: v, error, help, options: [], secret: false });
  return [
    mk(`${p}.name`, 'Name', rs.name, nameError(rs.name), 'its name in the lab (hosts: key)'),
    mk(
      `${p}.address`,
      'Address',
      rs.address,
      addressError(rs.address),
      value(ctx, 'mode') === 'nat'
        ? 'its address on the director’s private subnet'
        : 'its address on the VIP’s subnet',
    ),
    mk(
      `${p}.weight`,
      'Weight',
      rs.weight,
      validators.weight(rs.weight),
      'its share of connections (0 = no new ones)',
    ),
    mk(
      `${p}.nic`,
      'Its NIC',
      rs.nic,
      validators.nic(rs.nic),
      'the name of its network interface (VMs from one template share names)',
    ),
  ];
}

export function exportFields(ctx: AnswerContext, index: number): FieldView[] {
  const e = ctx.answers.exports[index];
  if (!e) return [];
  const others = ctx.answers.exports.filter((_, i) => i !== index);
  const p = `export.${index}`;
  const mk = (
    id: string,
    label: string,
    v: string,
    error: string | null,
    help: string,
  ): FieldView => ({ id, label, kind: 'text', value: v, error, help, options: [], secret: false });
  const pathError = (v: string) =>
    validators.exportPath(v) ??
    (others.some((o) => o.path.trim() === v.trim()) ? 'exported twice' : null);
  return [
    mk(`${p}.path`, 'Path', e.path, pathError(e.path), 'the directory to share'),
    mk(
      `${p}.clients`,
      'Clients',
      e.clients,
      validators.exportClients(e.clients),
      '* or a subnet such as 192.168.91.0/24',
    ),
    mk(
      `${p}.options`,
      'Options',
      e.options,
      validators.exportOptions(e.options),
      'comma-separated, e.g. ro,sync or rw,sync',
    ),
  ];
}

export function listFields(
  ctx: AnswerContext,
  list: 'realServers' | 'exports',
  index: number,
): FieldView[] {
  return list === 'realServers' ? realServerFields(ctx, index) : exportFields(ctx, index);
}

/** Problems of a screen beyond its single fields: list items, "at least one …". */
export function screenLevelErrors(screen: ScreenId, ctx: AnswerContext): string[] {
  const errs: string[] = [];
  if (screen === 'real-servers') {
    const role = value(ctx, 'role');
    if (role === 'director' && ctx.answers.realServers.length === 0)
      errs.push('expected at least one real server');
    ctx.answers.realServers.forEach((_, i) => {
      for (const f of realServerFields(ctx, i))
        if (f.error) errs.push(`real server ${i + 1} ${f.label.toLowerCase()}: ${f.error}`);
    });
  }
  if (screen === 'exports') {
    ctx.answers.exports.forEach((_, i) => {
      for (const f of exportFields(ctx, i))
        if (f.error) errs.push(`export ${i + 1} ${f.label.toLowerCase()}: ${f.error}`);
    });
  }
  if (screen === 'network') {
    const used = usableNics(ctx.facts).filter((n) => value(ctx, `nic.${n.name}.use`) !== 'skip');
    if (used.length === 0) errs.push('expected at least one interface (keep or static)');
  }
  return errs;
}

/** Why a screen cannot be left yet (empty: it can). */
export function screenErrors(screen: ScreenId, ctx: AnswerContext): string[] {
  const errs: string[] = [];
  for (const f of screenFields(screen, ctx)) if (f.error) errs.push(`${f.label}: ${f.error}`);
  return [...errs, ...screenLevelErrors(screen, ctx)];
}

export function isMode(v: string): v is Mode {
  return (MODES as readonly string[]).includes(v);
}

export type { Answers };
