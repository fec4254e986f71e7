import type { Action } from '../plan/step.js';
import {
  addCounters,
  addRates,
  compareServices,
  destinationKey,
  hostPort,
  serviceKey,
  ZERO_COUNTERS,
  type AddressFamily,
  type Counters,
  type DestinationSnapshot,
  type ForwardMethod,
  type Rates,
  type ServiceProtocol,
  type ServiceSnapshot,
  type Snapshot,
} from './model.js';
import { serviceArgs } from './actions.js';
import type { MonitorSource } from './source-types.js';

/**
 * A simulated director for `monitor --demo`: the seed notes' lab (a DR and a NAT service, plus a
 * UDP/TUN service, a fwmark service and an IPv6 one) with traffic that follows each scheduler
 * roughly, and one real server that keepalived takes out (weight 0) and puts back every 90 s.
 * Deterministic: the same seed, clock readings and applied actions give the same snapshots,
 * because the simulation advances in whole ticks of its own clock.
 */

export interface DemoOptions {
  seed?: number;
  /** The clock; Date.now by default. */
  now?: () => number;
  /** Simulation step; rates come out per second whatever it is. Default 1000 ms. */
  tickMs?: number;
  /** Replace the lab table with a generated one (scale tests, the benchmark). */
  scale?: { services: number; serversPerService: number };
  host?: string;
}

export interface DemoSource extends MonitorSource {
  readonly kind: 'demo';
  apply(actions: readonly Action[]): Promise<void>;
}

interface Outage {
  period: number;
  downFor: number;
  /** Seconds into the demo of the first outage. */
  firstAt: number;
}

interface SimServer {
  address: string;
  port: number;
  family: AddressFamily;
  forward: ForwardMethod;
  labWeight: number;
  weight: number;
  active: number;
  inactive: number;
  counters: Counters;
  lastRates: Rates;
  healthy: boolean;
  outage?: Outage;
  /** How much more than its weight a hashing scheduler sends here (client addresses are not uniform). */
  skew: number;
}

interface SimService {
  protocol: ServiceProtocol;
  family: AddressFamily;
  address: string;
  port: number;
  fwmark: number | null;
  scheduler: string;
  persistence: number | null;
  flags: string[];
  baseCps: number;
  /** Mean seconds a connection stays established. */
  connSeconds: number;
  inPktsPerConn: number;
  outPktsPerConn: number;
  inBytesPerPkt: number;
  outBytesPerPkt: number;
  phase: number;
  carry: number;
  counters: Counters;
  servers: SimServer[];
}

/** mulberry32: small, fast, and the same sequence on every platform. */
function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type ServerSpec = [address: string, port: number, weight: number, outage?: Outage];

function server(
  family: AddressFamily,
  forward: ForwardMethod,
  spec: ServerSpec,
  rng: () => number,
): SimServer {
  const [address, port, weight, outage] = spec;
  const s: SimServer = {
    address,
    port,
    family,
    forward,
    labWeight: weight,
    weight,
    active: 0,
    inactive: 0,
    counters: { ...ZERO_COUNTERS },
    lastRates: { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 },
    healthy: true,
    skew: 0.8 + 0.4 * rng(),
  };
  if (outage) s.outage = outage;
  return s;
}

function service(
  rng: () => number,
  base: Omit<SimService, 'phase' | 'carry' | 'counters' | 'servers'>,
  forward: ForwardMethod,
  servers: ServerSpec[],
): SimService {
  return {
    ...base,
    phase: rng() * Math.PI * 2,
    carry: 0,
    counters: { ...ZERO_COUNTERS },
    servers: servers.map((spec) => server(base.family, forward, spec, rng)),
  };
}

const HTTP = {
  connSeconds: 2,
  inPktsPerConn: 7,
  outPktsPerConn: 6,
  inBytesPerPkt: 90,
  outBytesPerPkt: 1200,
};

/** The seed notes' lab, with what a student would add next. */
function labTable(rng: () => number): SimService[] {
  const outage: Outage = { period: 90, downFor: 20, firstAt: 30 };
  return [
    service(
      rng,
      {
        protocol: 'tcp',
        family: 'inet',
        address: '192.168.91.148',
        port: 80,
        fwmark: null,
        scheduler: 'wrr',
        persistence: null,
        flags: [],
        baseCps: 120,
        ...HTTP,
      },
      'route',
      [
        ['192.168.91.146', 80, 3],
        ['192.168.91.147', 80, 2],
        ['192.168.91.149', 80, 1, outage],
      ],
    ),
    service(
      rng,
      {
        protocol: 'tcp',
        family: 'inet',
        address: '192.168.91.141',
        port: 80,
        fwmark: null,
        scheduler: 'wrr',
        persistence: 120,
        flags: [],
        baseCps: 40,
        ...HTTP,
      },
      'masq',
      [
        ['192.168.81.142', 80, 1],
        ['192.168.81.143', 80, 1],
      ],
    ),
    service(
      rng,
      {
        protocol: 'udp',
        family: 'inet',
        address: '192.168.91.148',
        port: 53,
        fwmark: null,
        scheduler: 'rr',
        persistence: null,
        flags: [],
        baseCps: 80,
        connSeconds: 0,
        inPktsPerConn: 1,
        outPktsPerConn: 1,
        inBytesPerPkt: 70,
        outBytesPerPkt: 180,
      },
      'tunnel',
      [
        ['10.10.0.21', 53, 1],
        ['10.10.0.22', 53, 1],
      ],
    ),
    service(
      rng,
      {
        protocol: 'fwmark',
        family: 'inet',
        address: '',
        port: 0,
        fwmark: 10,
        scheduler: 'wlc',
        persistence: 300,
        flags: [],
        baseCps: 30,
        ...HTTP,
        connSeconds: 6,
      },
      'route',
      [
        ['192.168.91.146', 0, 2],
        ['192.168.91.147', 0, 1],
      ],
    ),
    service(
      rng,
      {
        protocol: 'tcp',
        family: 'inet6',
        address: '2001:db8:91::148',
        port: 443,
        fwmark: null,
        scheduler: 'lc',
        persistence: null,
        flags: [],
        baseCps: 15,
        ...HTTP,
        connSeconds: 4,
      },
      'masq',
      [
        ['fd00:81::142', 443, 1],
        ['fd00:81::143', 443, 1],
      ],
    ),
  ];
}

/** The largest generated table: addresses are 10.100+.x.10 and 172.16+.x.(11..254). */
export const MAX_DEMO_SERVICES = 10_000;
export const MAX_DEMO_SERVERS_PER_SERVICE = 240;

/**
 * "100x10" (or 100×10): a generated table of 100 services of 10 real servers each, for
 * `LVS_SETUP_DEMO_SCALE`. Null when the text is not that or is out of range.
 */
export function parseDemoScale(
  text: string,
): { services: number; serversPerService: number } | null {
  const m = /^\s*(\d+)\s*[x×*]\s*(\d+)\s*$/i.exec(text);
  if (!m) return null;
  const services = Number(m[1]);
  const serversPerService = Number(m[2]);
  if (services < 1 || services > MAX_DEMO_SERVICES) return null;
  if (serversPerService < 1 || serversPerService > MAX_DEMO_SERVERS_PER_SERVICE) return null;
  return { services, serversPerService };
}

const SCHEDULERS = ['wrr', 'wlc', 'rr', 'lc', 'sh', 'sed'] as const;
const FORWARDS: ForwardMethod[] = ['route', 'masq', 'tunnel'];

function generatedTable(rng: () => number, services: number, perService: number): SimService[] {
  const out: SimService[] = [];
  for (let i = 0; i < services; i++) {
    const forward = FORWARDS[i % FORWARDS.length] ?? 'route';
    const specs: ServerSpec[] = [];
    for (let j = 0; j < perService; j++) {
      const spec: ServerSpec = [`172.${16 + (i >> 8)}.${i & 255}.${11 + j}`, 80, 1 + (j % 3)];
      if (j === perService - 1 && i % 10 === 0)
        spec.push({ period: 90, downFor: 20, firstAt: 30 + (i % 60) });
      specs.push(spec);
    }
    out.push(
      service(
        rng,
        {
          protocol: 'tcp',
          family: 'inet',
          address: `10.${100 + (i >> 8)}.${i & 255}.10`,
          port: 80,
          fwmark: null,
          scheduler: SCHEDULERS[i % SCHEDULERS.length] ?? 'wlc',
          persistence: i % 7 === 0 ? 300 : null,
          flags: [],
          baseCps: 5 + Math.floor(rng() * 60),
          ...HTTP,
        },
        forward,
        specs,
      ),
    );
  }
  return out;
}

/*
 * The simulation runs every tick for every server: loops here, not callbacks made anew on each
 * call, which V8 would compile again after every full GC (see rates.ts, shares).
 */

/** Largest-remainder split of n in proportion to shares (deterministic: ties go to the first). */
function splitProportional(n: number, shares: readonly number[]): number[] {
  const out = new Array<number>(shares.length).fill(0);
  let total = 0;
  for (const x of shares) total += x;
  if (total <= 0 || n <= 0) return out;
  const order: { i: number; frac: number }[] = [];
  let left = n;
  for (let i = 0; i < shares.length; i++) {
    const exact = (n * (shares[i] as number)) / total;
    const whole = Math.floor(exact);
    out[i] = whole;
    left -= whole;
    order.push({ i, frac: exact - whole });
  }
  order.sort(byLargestFraction);
  for (const { i } of order) {
    if (left <= 0) break;
    out[i] = (out[i] ?? 0) + 1;
    left--;
  }
  return out;
}

function byLargestFraction(a: { i: number; frac: number }, b: { i: number; frac: number }): number {
  return b.frac - a.frac || a.i - b.i;
}

/** What a dynamic scheduler weighs a server by (lower is chosen first), with `load` as its load. */
function dynamicCost(scheduler: string, s: SimServer, load: number): number {
  if (s.weight <= 0) return Infinity;
  if (scheduler === 'lc') return load;
  if (scheduler === 'wlc') return load / s.weight;
  if (scheduler === 'nq' && load === 0) return -1;
  return (load + 256) / s.weight;
}

/**
 * Roughly what the kernel schedulers do with n new connections: static ones split by weight,
 * dynamic ones give each connection to the server with the lowest load for its weight.
 */
function schedule(svc: SimService, n: number): number[] {
  const servers = svc.servers;
  const out = new Array<number>(servers.length).fill(0);
  if (n <= 0 || !servers.some(isLive)) return out;
  const shares = new Array<number>(servers.length);
  switch (svc.scheduler) {
    case 'rr':
      for (let i = 0; i < servers.length; i++) shares[i] = isLive(servers[i] as SimServer) ? 1 : 0;
      return splitProportional(n, shares);
    case 'wrr':
      for (let i = 0; i < servers.length; i++) shares[i] = (servers[i] as SimServer).weight;
      return splitProportional(n, shares);
    case 'lc':
    case 'wlc':
    case 'sed':
    case 'nq': {
      const load = new Array<number>(servers.length);
      for (let i = 0; i < servers.length; i++) {
        const s = servers[i] as SimServer;
        load[i] = s.active * 256 + s.inactive;
      }
      for (let c = 0; c < n; c++) {
        let best = -1;
        let bestCost = Infinity;
        for (let i = 0; i < servers.length; i++) {
          const v = dynamicCost(svc.scheduler, servers[i] as SimServer, load[i] ?? 0);
          if (v < bestCost) {
            best = i;
            bestCost = v;
          }
        }
        if (best < 0) break;
        out[best] = (out[best] ?? 0) + 1;
        load[best] = (load[best] ?? 0) + 256;
      }
      return out;
    }
    default:
      // sh, dh, mh, lblc, lblcr: a hash of the client or destination; uneven but weight-shaped.
      for (let i = 0; i < servers.length; i++) {
        const s = servers[i] as SimServer;
        shares[i] = s.weight * s.skew;
      }
      return splitProportional(n, shares);
  }
}

const isLive = (s: SimServer) => s.weight > 0;

function matchService(sim: SimService[], argv: readonly string[]): SimService | undefined {
  return sim.find((s) => {
    const args = serviceArgs(s);
    return args.every((a, i) => argv[2 + i] === a);
  });
}

export function createDemoSource(options: DemoOptions = {}): DemoSource {
  const seed = options.seed ?? 1;
  const now = options.now ?? Date.now;
  const tickMs = Math.max(10, options.tickMs ?? 1000);
  const dt = tickMs / 1000;
  const rng = makeRng(seed);
  const sim = options.scale
    ? generatedTable(rng, options.scale.services, options.scale.serversPerService)
    : labTable(rng);
  const host = options.host ?? 'demo-director';
  let expireQuiescent = false;
  const startedAt = now();
  let ticks = 0;

  function tick(t: number): void {
    const seconds = t * dt;
    for (const svc of sim) {
      for (const s of svc.servers) {
        if (!s.outage) continue;
        const since = seconds - s.outage.firstAt;
        const down = since >= 0 && since % s.outage.period < s.outage.downFor;
        if (down && s.healthy) {
          // keepalived's TCP_CHECK failed: with inhibit_on_failure it sets the weight to 0.
          s.healthy = false;
          s.weight = 0;
        } else if (!down && !s.healthy) {
          // ...and puts the configured weight back when the check passes, over any manual change.
          s.healthy = true;
          s.weight = s.labWeight;
        }
      }
      const wave = 1 + 0.35 * Math.sin((2 * Math.PI * seconds) / 240 + svc.phase);
      const expected = svc.baseCps * wave * (0.85 + 0.3 * rng()) * dt + svc.carry;
      const n = Math.floor(expected);
      svc.carry = expected - n;
      const alloc = schedule(svc, n);
      const udp = svc.protocol === 'udp';
      for (let i = 0; i < svc.servers.length; i++) {
        const s = svc.servers[i] as SimServer;
        const fresh = alloc[i] ?? 0;
        const established = s.active;
        // A dead server's connections time out quickly in the demo (the kernel would wait longer).
        const ending = !s.healthy
          ? s.active
          : svc.connSeconds > 0
            ? s.active * Math.min(1, dt / svc.connSeconds)
            : 0;
        if (udp) {
          // IPVS counts UDP "connections" as inactive entries that expire after the UDP timeout.
          s.inactive += fresh - s.inactive * Math.min(1, dt / 300);
        } else {
          s.active += fresh - ending;
          s.inactive += ending - s.inactive * Math.min(1, dt / 60);
        }
        const inPkts = Math.round(
          fresh * svc.inPktsPerConn * (0.8 + 0.4 * rng()) + established * 0.5 * dt,
        );
        const bypass = s.forward !== 'masq';
        const outPkts = bypass
          ? 0
          : Math.round(fresh * svc.outPktsPerConn * (0.8 + 0.4 * rng()) + established * 0.5 * dt);
        const inBytes = Math.round(inPkts * svc.inBytesPerPkt);
        const outBytes = Math.round(outPkts * svc.outBytesPerPkt);
        s.counters.conns += fresh;
        s.counters.inPkts += inPkts;
        s.counters.outPkts += outPkts;
        s.counters.inBytes += inBytes;
        s.counters.outBytes += outBytes;
        s.lastRates = {
          cps: fresh / dt,
          inPps: inPkts / dt,
          outPps: outPkts / dt,
          inBps: inBytes / dt,
          outBps: outBytes / dt,
        };
        svc.counters.conns += fresh;
        svc.counters.inPkts += inPkts;
        svc.counters.outPkts += outPkts;
        svc.counters.inBytes += inBytes;
        svc.counters.outBytes += outBytes;
      }
    }
  }

  // Warm up before the first reading so connections and counters are not all zero.
  const WARMUP = 20;
  for (let t = -WARMUP; t < 0; t++) tick(t);

  /** Advance to the clock; a huge jump (suspend) is skipped rather than simulated tick by tick. */
  function advance(): void {
    const due = Math.floor((now() - startedAt) / tickMs);
    if (due - ticks > 3600) ticks = due - 3600;
    while (ticks < due) tick(ticks++);
  }

  function snapshot(): Snapshot {
    let totals: Counters = { ...ZERO_COUNTERS };
    let totalRates: Rates = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
    const services: ServiceSnapshot[] = [];
    for (const svc of sim) {
      const key = serviceKey(svc);
      let rates: Rates = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };
      const destinations: DestinationSnapshot[] = [];
      for (const s of svc.servers) {
        rates = addRates(rates, s.lastRates);
        destinations.push({
          key: destinationKey(key, s),
          address: s.address,
          port: s.port,
          family: s.family,
          forward: s.forward,
          weight: s.weight,
          activeConns: Math.round(s.active),
          inactiveConns: Math.round(s.inactive),
          counters: { ...s.counters },
          kernelRates: { ...s.lastRates },
          health: s.healthy ? 'up' : 'down',
        });
      }
      totals = addCounters(totals, svc.counters);
      totalRates = addRates(totalRates, rates);
      services.push({
        key,
        protocol: svc.protocol,
        family: svc.family,
        address: svc.address,
        port: svc.port,
        fwmark: svc.fwmark,
        scheduler: svc.scheduler,
        persistence: svc.persistence,
        flags: [...svc.flags],
        counters: { ...svc.counters },
        kernelRates: rates,
        destinations,
      });
    }
    services.sort(compareServices);
    const vips = [...new Set(sim.filter((s) => s.protocol !== 'fwmark').map((s) => s.address))];
    return {
      takenAt: startedAt + ticks * tickMs,
      host,
      source: 'demo',
      ipvsVersion: '1.2.1',
      tableSize: 4096,
      totals,
      kernelTotalRates: totalRates,
      services,
      director: { vrrp: 'MASTER', keepalived: true, vipsPresent: vips },
      expireQuiescentTemplate: expireQuiescent,
      warnings: [],
    };
  }

  function applyOne(action: Action): void {
    if (action.kind !== 'command')
      throw new Error(`the demo director does not write files (${action.path})`);
    const argv = action.argv;
    if (
      argv[0] === 'sysctl' &&
      argv[1] === '-w' &&
      argv[2]?.startsWith('net.ipv4.vs.expire_quiescent_template=')
    ) {
      expireQuiescent = argv[2].endsWith('=1');
      return;
    }
    if (argv[0] === 'ipvsadm' && argv[1] === '-Z') {
      const targets =
        argv.length > 2 ? [matchService(sim, argv)].filter((s): s is SimService => !!s) : sim;
      if (argv.length > 2 && targets.length === 0)
        throw new Error(`no such service: ${argv.slice(2).join(' ')}`);
      for (const svc of targets) {
        svc.counters = { ...ZERO_COUNTERS };
        for (const s of svc.servers) s.counters = { ...ZERO_COUNTERS };
      }
      return;
    }
    if (argv[0] === 'ipvsadm' && argv[1] === '-e') {
      const svc = matchService(sim, argv);
      const r = argv.indexOf('-r');
      const w = argv.indexOf('-w');
      const target = svc?.servers.find(
        (s) => hostPort(s.address, s.port, s.family) === argv[r + 1],
      );
      const weight = Number(argv[w + 1]);
      if (!svc || !target || r < 0 || w < 0 || !Number.isInteger(weight)) {
        throw new Error(`no such real server: ${argv.join(' ')}`);
      }
      target.weight = weight;
      target.forward = argv.includes('-m') ? 'masq' : argv.includes('-i') ? 'tunnel' : 'route';
      return;
    }
    throw new Error(`the demo director cannot run: ${argv.join(' ')}`);
  }

  return {
    kind: 'demo',
    async read() {
      advance();
      return snapshot();
    },
    async apply(actions) {
      advance();
      for (const a of actions) applyOne(a);
    },
  };
}
