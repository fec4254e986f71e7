import { z } from 'zod';
import { isIPv4, isIPv4Cidr } from './net.js';

/**
 * The lab file: one YAML document that describes every host of an LVS lab. These field names are a
 * contract (README "Lab file reference"); the wizard writes the same shape.
 */

export const SCHEDULERS = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'sed',
  'nq',
  'dh',
  'sh',
  'lblc',
  'lblcr',
  'fo',
  'ovf',
  'mh',
  'twos',
] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

export const SCHEDULER_HELP: Record<Scheduler, string> = {
  rr: 'round-robin: each real server in turn',
  wrr: 'weighted round-robin: in turn, in proportion to weight',
  lc: 'least-connection: the server with the fewest connections (active×256 + inactive)',
  wlc: 'weighted least-connection: fewest connections per unit of weight (the default)',
  sed: 'shortest expected delay: like wlc but counts the new connection (+1)',
  nq: 'never queue: an idle server gets the connection at once, else sed',
  dh: 'destination hashing: a static map from destination address to server',
  sh: 'source hashing: a static map from client address to server (sticky)',
  lblc: 'locality-based least-connection: one server per destination address',
  lblcr: 'locality-based least-connection with replication: a set of servers per destination',
  fo: 'weighted failover: the available server with the highest weight takes all',
  ovf: 'weighted overflow: the highest weight until its connections exceed its weight',
  mh: 'maglev hashing: consistent hashing of the client',
  twos: 'weighted random twos choice: the better of two random servers',
};

export const MODES = ['nat', 'dr', 'tun'] as const;
export type Mode = (typeof MODES)[number];
export const ROLES = ['director', 'real-server', 'nfs-server', 'client'] as const;
export type Role = (typeof ROLES)[number];

/** The kernel's limit for `ipvsadm -p` (MAX_TIMEOUT: 31 days). */
export const MAX_PERSISTENCE = 2678400;

const expected = (what: string) => ({ error: `expected ${what}` });

const ipv4 = z
  .string(expected('an IPv4 address such as 192.168.91.148'))
  .refine(isIPv4, 'expected an IPv4 address such as 192.168.91.148');
const cidr = z
  .string(expected('an IPv4 address with prefix such as 192.168.91.141/24'))
  .refine(isIPv4Cidr, 'expected an IPv4 address with prefix such as 192.168.91.141/24');
const port = z
  .number(expected('a port number from 1 to 65535'))
  .int('expected a whole number from 1 to 65535')
  .min(1, 'expected a port number from 1 to 65535')
  .max(65535, 'expected a port number from 1 to 65535');
const name = z
  .string(expected('a name'))
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
    'expected a name of letters, digits, dot, dash or underscore (at most 63)',
  );
const nicName = z
  .string(expected('an interface name such as ens33'))
  .regex(
    /^[A-Za-z0-9_.-]{1,15}$/,
    'expected an interface name such as ens33 (at most 15 characters)',
  );

export const interfaceSchema = z.strictObject({
  address: cidr.optional(),
  gateway: ipv4.optional(),
  dns: z
    .array(ipv4, expected('a list of DNS server addresses'))
    .max(3, 'at most 3 DNS servers')
    .optional(),
  mac: z
    .string(expected('a MAC address such as 52:54:00:12:34:56'))
    .regex(
      /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/,
      'expected a MAC address such as 52:54:00:12:34:56',
    )
    .optional(),
});

export const checkSchema = z.strictObject({
  type: z.enum(['tcp', 'http', 'none'], expected('tcp, http or none')).default('tcp'),
  port: port.optional(),
  path: z.string().startsWith('/', 'expected a URL path starting with /').optional(),
  status: z.number().int().min(100).max(599).optional(),
  connect_timeout: z.number(expected('seconds')).int().min(1).max(3600).default(10),
  retry: z.number(expected('a count')).int().min(0).max(100).default(3),
  delay_before_retry: z.number(expected('seconds')).int().min(0).max(3600).default(3),
  delay_loop: z.number(expected('seconds')).int().min(1).max(3600).default(6),
});

export const realServerSchema = z.strictObject({
  host: name,
  address: ipv4.optional(),
  port: port.optional(),
  weight: z
    .number(expected('a weight from 0 to 65535'))
    .int('expected a whole number from 0 to 65535')
    .min(0, 'expected a weight from 0 to 65535')
    .max(65535, 'expected a weight from 0 to 65535')
    .default(1),
});

export const serviceSchema = z.strictObject({
  name,
  vip: ipv4,
  port,
  protocol: z.enum(['tcp', 'udp'], expected('tcp or udp')).default('tcp'),
  mode: z.enum(MODES, expected('nat, dr or tun')),
  scheduler: z.enum(SCHEDULERS, expected(`a scheduler: ${SCHEDULERS.join(', ')}`)).default('wlc'),
  persistence: z
    .number(expected(`seconds from 0 to ${MAX_PERSISTENCE}`))
    .int('expected whole seconds')
    .min(0, `expected seconds from 0 to ${MAX_PERSISTENCE}`)
    .max(MAX_PERSISTENCE, `expected seconds from 0 to ${MAX_PERSISTENCE} (the kernel's maximum)`)
    .default(0),
  /** Directors that serve it; default: every director of the lab. */
  directors: z.array(name).optional(),
  real_servers: z.array(realServerSchema).min(1, 'expected at least one real server'),
  check: checkSchema.optional(),
  /** The page nginx serves on real servers; default "server <address>". */
  web: z.strictObject({ index: z.string().optional() }).optional(),
});

export const exportSchema = z.strictObject({
  path: z
    .string(expected('an absolute path'))
    .regex(/^\/[^\s]*$/, 'expected an absolute path without spaces'),
  clients: z
    .string(expected('a client spec such as * or 192.168.91.0/24'))
    .regex(/^[A-Za-z0-9*?.:/_-]+$/, 'expected a client spec such as * or 192.168.91.0/24')
    .default('*'),
  options: z
    .array(
      z
        .string()
        .regex(/^[a-z_]+(=[A-Za-z0-9_.:/-]+)?$/, 'expected an export option such as ro or sync'),
    )
    .default(['ro', 'sync']),
});

export const haSchema = z.strictObject({
  state: z.enum(['MASTER', 'BACKUP'], expected('MASTER or BACKUP')),
  priority: z
    .number(expected('a priority from 1 to 254'))
    .int()
    .min(1, 'expected a priority from 1 to 254')
    .max(254, 'expected a priority from 1 to 254'),
  interface: nicName.optional(),
  nopreempt: z.boolean().optional(),
});

export const hostSchema = z.strictObject({
  role: z.enum(ROLES, expected('director, real-server, nfs-server or client')),
  interfaces: z
    .record(nicName, interfaceSchema, expected('a map of interface name to settings'))
    .refine((v) => Object.keys(v).length > 0, 'expected at least one interface'),
  ha: haSchema.optional(),
  exports: z.array(exportSchema).optional(),
  /** Mount an NFS export as the web root (real servers). */
  nfs_web_root: z.strictObject({ server: name, path: z.string().startsWith('/') }).optional(),
});

export const vrrpSchema = z.strictObject({
  router_id: z
    .number(expected('a virtual router id from 1 to 255'))
    .int()
    .min(1, 'expected a virtual router id from 1 to 255')
    .max(255, 'expected a virtual router id from 1 to 255'),
  advert_int: z.number(expected('seconds')).min(0.01).max(255).default(1),
  /** Only the first 8 characters count in VRRP PASS authentication, so more is refused. */
  auth_pass: z
    .string(expected('a password of 1 to 8 characters'))
    .min(1, 'expected a password of 1 to 8 characters')
    .max(8, 'expected a password of at most 8 characters (VRRP uses only 8)')
    // keepalived.conf treats # and ! as the start of a comment.
    .regex(/^[\x21-\x7e]+$/, 'expected printable characters without spaces')
    .regex(/^[^#!]+$/, 'expected no # or ! (keepalived.conf reads them as the start of a comment)')
    .optional(),
  instance: name.default('VI_1'),
});

export const labSchema = z.strictObject({
  name,
  firewall: z.enum(['disable', 'open'], expected('disable or open')).default('open'),
  vrrp: vrrpSchema.optional(),
  services: z.array(serviceSchema, expected('a list of services')).default([]),
  hosts: z
    .record(name, hostSchema, expected('a map of host name to host'))
    .refine((v) => Object.keys(v).length > 0, 'expected at least one host'),
});

export type LabFile = z.output<typeof labSchema>;
export type LabService = LabFile['services'][number];
export type LabHost = LabFile['hosts'][string];
export type LabInterface = z.output<typeof interfaceSchema>;
export type LabCheck = z.output<typeof checkSchema>;
