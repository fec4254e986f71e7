import type { CommandSpec } from '../source/plan/step.js';

/*
 * Inverses of the kernel-state commands several recipes run. Each one names the error output that
 * means its target is already gone, so undo counts it as undone rather than failed: after two apply
 * runs the older run's `ip addr del VIP dev tunl0` can meet a tunl0 that the newer run's
 * `modprobe -r ipip` already took away (with its address).
 */

/** iproute2, for a device that does not exist (exit 1). */
const NO_DEVICE = 'Cannot find device';

export function ipAddrDel(cidr: string, dev: string): CommandSpec {
  return {
    argv: ['ip', 'addr', 'del', cidr, 'dev', dev],
    // Older kernels: EADDRNOTAVAIL's text; kernels with extended acks say "Address not found".
    goneWhen: [NO_DEVICE, 'Cannot assign requested address', 'Address not found'],
  };
}

export function ipLinkDown(dev: string): CommandSpec {
  return { argv: ['ip', 'link', 'set', dev, 'down'], goneWhen: [NO_DEVICE] };
}

export function modprobeRemove(name: string): CommandSpec {
  // kmod's modprobe -r says "Module X is not in kernel."; rmmod "is not currently loaded".
  return {
    argv: ['modprobe', '-r', name],
    goneWhen: ['is not in kernel', 'is not currently loaded'],
  };
}
