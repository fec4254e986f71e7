import { forwardMode, hasBypassReplies, hostPort, type Rates } from './model.js';
import type { RatedSnapshot } from './rates.js';

/**
 * `monitor --once --json`: one snapshot for scripts. Counters are exact; rates are per second over
 * the interval between the two readings (null when they could not be computed).
 */

export const MONITOR_JSON_SCHEMA = 'lvs-setup.monitor/1';

const round = (r: Rates | null): Rates | null =>
  r && {
    cps: Math.round(r.cps * 1000) / 1000,
    inPps: Math.round(r.inPps * 1000) / 1000,
    outPps: Math.round(r.outPps * 1000) / 1000,
    inBps: Math.round(r.inBps * 1000) / 1000,
    outBps: Math.round(r.outBps * 1000) / 1000,
  };

export function snapshotToJson(s: RatedSnapshot) {
  return {
    schema: MONITOR_JSON_SCHEMA,
    host: s.host,
    takenAt: new Date(s.takenAt).toISOString(),
    intervalMs: s.intervalMs,
    source: s.source,
    countersFrom: s.countersFrom ?? null,
    countersHandover: s.countersHandover ?? null,
    ipvsVersion: s.ipvsVersion ?? null,
    director: s.director,
    totals: { counters: s.totals, rates: round(s.totalRates) },
    notes: hasBypassReplies(s.services)
      ? ['OutPkts/OutBytes are 0 in DR and TUN: replies bypass the director']
      : [],
    warnings: s.warnings,
    services: s.services.map((svc) => ({
      key: svc.key,
      protocol: svc.protocol,
      family: svc.family,
      address: svc.address || null,
      port: svc.protocol === 'fwmark' ? null : svc.port,
      fwmark: svc.fwmark,
      scheduler: svc.scheduler,
      persistence: svc.persistence,
      persistenceMask: svc.persistenceMask ?? null,
      flags: svc.flags,
      counters: svc.counters,
      rates: round(svc.rates),
      destinations: svc.destinations.map((d) => ({
        key: d.key,
        server: hostPort(d.address, d.port, d.family),
        address: d.address,
        port: d.port,
        family: d.family,
        forward: d.forward,
        mode: forwardMode(d.forward),
        weight: d.weight,
        activeConns: d.activeConns,
        inactiveConns: d.inactiveConns,
        counters: d.counters,
        rates: round(d.rates),
        share: Math.round(d.share * 10000) / 10000,
        health: d.health ?? null,
      })),
    })),
  };
}

export type MonitorJson = ReturnType<typeof snapshotToJson>;
