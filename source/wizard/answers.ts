import { randomInt } from 'node:crypto';
import { networkOf } from '../config/net.js';
import type { HostFacts } from '../facts/types.js';
import {
  defaultNic,
  hostNameFromFacts,
  nextAddress,
  primaryIPv4,
  cidrOf,
  proposeVip,
  usableNics,
} from './host-view.js';

/**
 * The wizard's answers, as the user typed them (strings, possibly invalid: going back and forth
 * never loses a half-typed value). A field the user has not touched has no entry in `values` and
 * shows its default, which follows the other answers (the VIP proposal follows the mode) until the
 * user edits it.
 */
export interface RealServerDraft {
  name: string;
  address: string;
  weight: string;
  /** The real server's own NIC name (for its lab-file entry). */
  nic: string;
}

export interface ExportDraft {
  path: string;
  clients: string;
  options: string;
}

export interface Answers {
  values: Readonly<Record<string, string>>;
  realServers: readonly RealServerDraft[];
  exports: readonly ExportDraft[];
  /** The VRRP password proposed to the user (generated once, so it stays the same on re-render). */
  generatedPass: string;
}

export type ListName = 'realServers' | 'exports';

const PASS_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** 8 characters (all VRRP PASS uses) from an alphabet without look-alikes. */
export function generatePassword(random: (max: number) => number = randomInt): string {
  let out = '';
  for (let i = 0; i < 8; i++) out += PASS_ALPHABET[random(PASS_ALPHABET.length)] ?? 'x';
  return out;
}

export function emptyAnswers(generatedPass = generatePassword()): Answers {
  return { values: {}, realServers: [], exports: [], generatedPass };
}

export interface AnswerContext {
  answers: Answers;
  facts: HostFacts;
}

type DefaultFn = (ctx: AnswerContext) => string;

const nicDefault = (ctx: AnswerContext) => defaultNic(ctx.facts)?.name ?? 'eth0';

/** Defaults of the scalar fields; NIC fields (nic.NAME.*) are handled below. */
const DEFAULTS: Record<string, DefaultFn> = {
  role: () => 'director',
  ha: () => 'none',
  hostName: (ctx) => {
    const fromHost = hostNameFromFacts(ctx.facts);
    if (fromHost) return fromHost;
    const role = value(ctx, 'role');
    if (role === 'real-server') return 'web1';
    if (role === 'nfs-server') return 'nfs';
    const ha = value(ctx, 'ha');
    return ha === 'MASTER' ? 'lvs1' : ha === 'BACKUP' ? 'lvs2' : 'lvs';
  },
  labName: (ctx) => (value(ctx, 'role') === 'nfs-server' ? 'lvs-nfs' : `lvs-${value(ctx, 'mode')}`),
  // NAT needs a public and a private NIC; with one NIC, DR (ipvsadm's default) is the natural lab.
  mode: (ctx) => (usableNics(ctx.facts).length >= 2 ? 'nat' : 'dr'),
  'service.name': () => 'web',
  'service.vip': (ctx) => proposeVip(ctx.facts, value(ctx, 'mode')),
  'service.port': () => '80',
  'service.protocol': () => 'tcp',
  'service.scheduler': () => 'wlc',
  'service.persistence': () => '0',
  'director.name': () => 'lvs',
  'director.address': () => '',
  'director.vipAddress': () => '',
  'ha.priority': (ctx) => (value(ctx, 'ha') === 'BACKUP' ? '90' : '100'),
  'ha.routerId': () => '51',
  'ha.advertInt': () => '1',
  'ha.authPass': (ctx) => ctx.answers.generatedPass,
  'ha.peerName': (ctx) => {
    const me = value(ctx, 'hostName');
    const peer = value(ctx, 'ha') === 'BACKUP' ? 'lvs1' : 'lvs2';
    return peer === me ? `${peer}-peer` : peer;
  },
  'ha.peerAddress': () => '',
  firewall: () => 'open',
};

function nicFieldDefault(ctx: AnswerContext, nicName: string, leaf: string): string {
  const nic = ctx.facts.nics.find((n) => n.name === nicName);
  const v4 = nic ? primaryIPv4(nic) : null;
  switch (leaf) {
    case 'use':
      return v4 ? 'keep' : 'skip';
    case 'address':
      return v4 ? cidrOf(v4) : '';
    case 'gateway':
      return ctx.facts.routes.defaultDev === nicName ? (ctx.facts.routes.defaultGateway ?? '') : '';
    default:
      return '';
  }
}

/** The value a field shows: what the user typed, else its default. */
export function value(ctx: AnswerContext, id: string): string {
  const typed = ctx.answers.values[id];
  if (typed !== undefined) return typed;
  const nic = /^nic\.([^.]+)\.(use|address|gateway|dns)$/.exec(id);
  if (nic) return nicFieldDefault(ctx, nic[1] ?? '', nic[2] ?? '');
  return DEFAULTS[id]?.(ctx) ?? '';
}

export function isTyped(answers: Answers, id: string): boolean {
  return answers.values[id] !== undefined;
}

const LIST_ITEM = /^(rs|export)\.(\d+)\.(\w+)$/;

/** Set a field; list item fields are `rs.N.FIELD` and `export.N.FIELD`. */
export function setValue(answers: Answers, id: string, v: string): Answers {
  const item = LIST_ITEM.exec(id);
  if (item) {
    const index = Number(item[2]);
    const field = item[3] ?? '';
    if (item[1] === 'rs') {
      const list = answers.realServers.slice();
      const cur = list[index];
      if (!cur || !(field in cur)) return answers;
      list[index] = { ...cur, [field]: v };
      return { ...answers, realServers: list };
    }
    const list = answers.exports.slice();
    const cur = list[index];
    if (!cur || !(field in cur)) return answers;
    list[index] = { ...cur, [field]: v };
    return { ...answers, exports: list };
  }
  return { ...answers, values: { ...answers.values, [id]: v } };
}

/** A new real server after the last one: web2 after web1, .143 after .142. */
export function newRealServer(ctx: AnswerContext): RealServerDraft {
  const list = ctx.answers.realServers;
  const names = new Set([...list.map((r) => r.name), value(ctx, 'hostName')]);
  let n = list.length + 1;
  while (names.has(`web${n}`)) n += 1;
  const last = list[list.length - 1];
  let address = last ? nextAddress(last.address) : '';
  if (!last && value(ctx, 'role') === 'real-server') {
    const mine = defaultNic(ctx.facts);
    const v4 = mine ? primaryIPv4(mine) : null;
    address = v4 ? nextAddress(v4.address) : '';
  }
  return { name: `web${n}`, address, weight: '1', nic: last?.nic ?? nicDefault(ctx) };
}

export function newExport(ctx: AnswerContext): ExportDraft {
  const nic = defaultNic(ctx.facts);
  const v4 = nic ? primaryIPv4(nic) : null;
  const first = ctx.answers.exports.length === 0;
  return {
    path: first ? '/data' : '',
    clients: v4 && first ? networkOf(v4.address, v4.prefix) : '*',
    options: first ? 'rw,sync' : 'ro,sync',
  };
}

export function addItem(ctx: AnswerContext, list: ListName): Answers {
  const { answers } = ctx;
  if (list === 'realServers')
    return { ...answers, realServers: [...answers.realServers, newRealServer(ctx)] };
  return { ...answers, exports: [...answers.exports, newExport(ctx)] };
}

export function removeItem(answers: Answers, list: ListName, index: number): Answers {
  if (list === 'realServers')
    return { ...answers, realServers: answers.realServers.filter((_, i) => i !== index) };
  return { ...answers, exports: answers.exports.filter((_, i) => i !== index) };
}
