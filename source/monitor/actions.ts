import type { Action, CommandAction } from '../plan/step.js';
import { hostPort, type AddressFamily, type ForwardMethod, type ServiceProtocol } from './model.js';

/**
 * The monitor's changes as plan actions, so they go through the core's executor (logged,
 * journaled, undoable) like every other change. Pure: the same inputs give the same argv.
 */

export interface ServiceRef {
  protocol: ServiceProtocol;
  family: AddressFamily;
  address: string;
  port: number;
  fwmark: number | null;
  persistence?: number | null;
}

export interface DestinationRef {
  address: string;
  port: number;
  family: AddressFamily;
  forward: ForwardMethod;
}

/** ipvsadm accepts weights 0..65535. */
export const MAX_WEIGHT = 65535;

export const EXPIRE_QUIESCENT_TEMPLATE = 'net.ipv4.vs.expire_quiescent_template';

/** `-t VIP:port`, `-u VIP:port`, `--sctp-service VIP:port` or `-f mark` (`-6` for an IPv6 fwmark service). */
export function serviceArgs(s: ServiceRef): string[] {
  switch (s.protocol) {
    case 'tcp':
      return ['-t', hostPort(s.address, s.port, s.family)];
    case 'udp':
      return ['-u', hostPort(s.address, s.port, s.family)];
    case 'sctp':
      return ['--sctp-service', hostPort(s.address, s.port, s.family)];
    case 'fwmark':
      return ['-f', String(s.fwmark ?? 0), ...(s.family === 'inet6' ? ['-6'] : [])];
  }
}

/**
 * `ipvsadm -e` resets the forwarding method to -g (DR) when none is given, which would silently
 * turn a NAT server into a DR one: always pass the server's own. Local uses -g, as ipvsadm's own
 * `--save` does. (A 1.31 tunnel's --tun-type is not visible in -Ln and is not repeated here.)
 */
export function forwardFlag(f: ForwardMethod): '-m' | '-g' | '-i' {
  return f === 'masq' ? '-m' : f === 'tunnel' ? '-i' : '-g';
}

export function editWeightArgv(s: ServiceRef, d: DestinationRef, weight: number): string[] {
  return [
    'ipvsadm',
    '-e',
    ...serviceArgs(s),
    '-r',
    hostPort(d.address, d.port, d.family),
    forwardFlag(d.forward),
    '-w',
    String(weight),
  ];
}

function checkWeight(weight: number): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
    throw new RangeError(`weight must be an integer from 0 to ${MAX_WEIGHT}, got ${weight}`);
  }
}

/** Set a real server's weight; the inverse puts the current weight back. */
export function setWeightActions(
  s: ServiceRef,
  d: DestinationRef,
  weight: number,
  currentWeight: number,
): Action[] {
  checkWeight(weight);
  checkWeight(currentWeight);
  const action: CommandAction = {
    kind: 'command',
    argv: editWeightArgv(s, d, weight),
    inverse: [{ argv: editWeightArgv(s, d, currentWeight) }],
  };
  return [action];
}

/**
 * Drain: weight 0 sends no new connections to the server while established ones finish (the
 * server stays in the table, unlike `ipvsadm -d`). On a persistent service, clients that already
 * have a persistence template would keep going to the server until the template expires, so the
 * kernel is also told to expire templates of quiescent (weight 0) servers. `expireQuiescent` is the
 * current value of that sysctl when known; null means unknown and it is set anyway (its default
 * is 0, which the inverse restores).
 */
export function drainActions(
  s: ServiceRef,
  d: DestinationRef,
  currentWeight: number,
  expireQuiescent: boolean | null = null,
): Action[] {
  const actions: Action[] = [];
  if ((s.persistence ?? null) !== null && expireQuiescent !== true) {
    actions.push({
      kind: 'command',
      argv: ['sysctl', '-w', `${EXPIRE_QUIESCENT_TEMPLATE}=1`],
      inverse: [{ argv: ['sysctl', '-w', `${EXPIRE_QUIESCENT_TEMPLATE}=0`] }],
    });
  }
  actions.push(...setWeightActions(s, d, 0, currentWeight));
  return actions;
}

/** Restore the weight the server had (first seen by the monitor, or the lab file's). */
export function restoreActions(
  s: ServiceRef,
  d: DestinationRef,
  weight: number,
  currentWeight: number,
): Action[] {
  return setWeightActions(s, d, weight, currentWeight);
}

/** `ipvsadm -Z` for all services or one. Counters cannot be put back, so there is no inverse. */
export function zeroCountersActions(s?: ServiceRef): Action[] {
  return [{ kind: 'command', argv: ['ipvsadm', '-Z', ...(s ? serviceArgs(s) : [])] }];
}
