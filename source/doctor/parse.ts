/**
 * Pure parsers for what doctor reads beyond the facts: `ss` listeners, keepalived.conf, tcpdump's
 * VRRP lines, `systemctl is-enabled`, shell-variable files. Each takes text and never throws.
 */

export interface Listener {
  protocol: 'tcp' | 'udp';
  /** The local address as ss prints it, without brackets or %interface: 0.0.0.0, *, ::, 10.0.0.1. */
  address: string;
  port: number;
}

/** Addresses meaning "every local address". */
export function isWildcard(address: string): boolean {
  return address === '*' || address === '0.0.0.0' || address === '::' || address === '';
}

/**
 * `ss -ltnH` / `ss -lunH` (or the same without -H, header skipped). The local address is the first
 * column that looks like ADDR:PORT after the state and queue columns. Handles `0.0.0.0:80`, `*:80`,
 * `[::]:80`, `:::80` (old iproute2), `127.0.0.53%lo:53`, `[::ffff:10.0.0.1]:80`.
 */
export function parseSs(text: string, protocol: 'tcp' | 'udp'): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words.length < 4 || /^(State|Netid)$/i.test(words[0] ?? '')) continue;
    const local = words.slice(3).find((w) => /:\d+$/.test(w));
    if (!local) continue;
    const at = local.lastIndexOf(':');
    let host = local.slice(0, at);
    const port = Number(local.slice(at + 1));
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    host = host.replace(/%.*$/, '');
    if (host.startsWith('::ffff:') && host.includes('.')) host = host.slice('::ffff:'.length);
    if (host === '::' || host === '') host = '::';
    if (Number.isInteger(port) && port > 0) out.push({ protocol, address: host, port });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// keepalived.conf

export interface KeepalivedInstance {
  name: string;
  state: string | null;
  interface: string | null;
  routerId: number | null;
  priority: number | null;
  nopreempt: boolean;
  /** `accept` given (and not overridden by a later `no_accept`). */
  accept: boolean;
  /** Length of auth_pass (never the value: doctor must not print it), null when absent. */
  authPassLength: number | null;
  virtualAddresses: string[];
}

export interface KeepalivedVirtualServer {
  address: string;
  port: number;
  lbKind: string | null;
  protocol: string | null;
  realServers: Array<{ address: string; port: number }>;
}

export interface KeepalivedConf {
  vrrpStrict: boolean;
  instances: KeepalivedInstance[];
  virtualServers: KeepalivedVirtualServer[];
}

interface Block {
  words: string[];
  children: Block[];
}

/** Statements and `{ … }` blocks; comments (# and !) removed. Unbalanced braces are tolerated. */
function parseBlocks(text: string): Block[] {
  const root: Block = { words: [], children: [] };
  const stack: Block[] = [root];
  let current: string[] = [];
  const top = () => stack[stack.length - 1] ?? root;
  const flush = () => {
    if (current.length > 0) top().children.push({ words: current, children: [] });
    current = [];
  };
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/[#!].*$/, '');
    const tokens = line.match(/[{}]|"[^"]*"|[^\s{}]+/g) ?? [];
    for (const t of tokens) {
      if (t === '{') {
        const block: Block = { words: current, children: [] };
        top().children.push(block);
        stack.push(block);
        current = [];
      } else if (t === '}') {
        flush();
        if (stack.length > 1) stack.pop();
      } else {
        current.push(t.startsWith('"') && t.endsWith('"') && t.length >= 2 ? t.slice(1, -1) : t);
      }
    }
    flush();
  }
  return root.children;
}

function intOrNull(text: string | undefined): number | null {
  if (text === undefined || !/^\d+$/.test(text)) return null;
  return Number(text);
}

function flatten(blocks: Block[]): Block[] {
  return blocks.flatMap((b) => [b, ...flatten(b.children)]);
}

export function parseKeepalivedConf(text: string): KeepalivedConf {
  const top = parseBlocks(text);
  const vrrpStrict = flatten(top.filter((b) => b.words[0] === 'global_defs')).some(
    (b) => b.words[0] === 'vrrp_strict',
  );
  const instances: KeepalivedInstance[] = [];
  const virtualServers: KeepalivedVirtualServer[] = [];
  for (const block of top) {
    const kind = block.words[0];
    if (kind === 'vrrp_instance') {
      const inst: KeepalivedInstance = {
        name: block.words[1] ?? '',
        state: null,
        interface: null,
        routerId: null,
        priority: null,
        nopreempt: false,
        accept: false,
        authPassLength: null,
        virtualAddresses: [],
      };
      for (const s of block.children) {
        const [key, value] = s.words;
        switch (key) {
          case 'state':
            inst.state = value?.toUpperCase() ?? null;
            break;
          case 'interface':
            inst.interface = value ?? null;
            break;
          case 'virtual_router_id':
            inst.routerId = intOrNull(value);
            break;
          case 'priority':
            inst.priority = intOrNull(value);
            break;
          case 'nopreempt':
            inst.nopreempt = true;
            break;
          case 'preempt':
            inst.nopreempt = false;
            break;
          case 'accept':
            inst.accept = true;
            break;
          case 'no_accept':
            inst.accept = false;
            break;
          case 'authentication':
            for (const a of s.children) {
              if (a.words[0] === 'auth_pass') inst.authPassLength = (a.words[1] ?? '').length;
            }
            break;
          case 'virtual_ipaddress':
            for (const a of s.children) {
              const addr = a.words[0];
              if (addr) inst.virtualAddresses.push(addr.replace(/\/\d+$/, ''));
            }
            break;
          default:
            break;
        }
      }
      instances.push(inst);
    } else if (kind === 'virtual_server') {
      const vs: KeepalivedVirtualServer = {
        address: block.words[1] ?? '',
        port: intOrNull(block.words[2]) ?? 0,
        lbKind: null,
        protocol: null,
        realServers: [],
      };
      for (const s of block.children) {
        const [key, value] = s.words;
        if (key === 'lb_kind') vs.lbKind = value?.toUpperCase() ?? null;
        else if (key === 'protocol') vs.protocol = value?.toUpperCase() ?? null;
        else if (key === 'real_server')
          vs.realServers.push({ address: s.words[1] ?? '', port: intOrNull(s.words[2]) ?? 0 });
      }
      virtualServers.push(vs);
    }
  }
  return { vrrpStrict, instances, virtualServers };
}

// ---------------------------------------------------------------------------------------------
// tcpdump, systemctl, shell variables

export interface VrrpAdvert {
  source: string;
  vrid: number;
  priority: number | null;
}

/** `tcpdump -nn vrrp` lines: `IP 192.168.91.145 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 100, …`. */
export function parseTcpdumpVrrp(text: string): VrrpAdvert[] {
  const out: VrrpAdvert[] = [];
  for (const line of text.split('\n')) {
    const m = /\bIP6?\s+(\S+)\s+>\s+\S+:.*?\bvrid\s+(\d+)(?:.*?\bprio\s+(\d+))?/.exec(line);
    if (!m) continue;
    out.push({
      source: m[1] ?? '',
      vrid: Number(m[2]),
      priority: m[3] !== undefined ? Number(m[3]) : null,
    });
  }
  return out;
}

const ENABLED_STATES = new Set([
  'enabled',
  'enabled-runtime',
  'static',
  'indirect',
  'generated',
  'alias',
  'linked',
  'linked-runtime',
  'disabled',
  'masked',
  'masked-runtime',
  'transient',
  'bad',
  'not-found',
]);

/** The state `systemctl is-enabled UNIT` printed (last known word), or null when it printed none. */
export function parseIsEnabled(stdout: string): string | null {
  const words = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => ENABLED_STATES.has(l));
  return words[words.length - 1] ?? null;
}

/** `KEY="value"` lines of a shell-variable file such as /etc/default/ipvsadm (last one wins). */
export function parseShellVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|'([^']*)'|(\S*))/.exec(line);
    if (m?.[1]) out[m[1]] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  return out;
}

/** Non-comment lines of /etc/exports. */
export function exportLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
