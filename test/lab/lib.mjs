// Helpers for lab scenarios (test/lab/scenarios/*.mjs). Everything runs inside guests through
// the harness's agent; nothing here touches this machine's network.
import path from 'node:path';
import { REPO } from './harness.mjs';

/** The product's bundled build, as the guests see it (they share this machine's filesystem). */
export const LVS_SETUP = path.join(REPO, 'dist/lvs-setup.js');

/** Run `lvs-setup ARGS...` in a guest exactly as a user would (bundled build, not the sources),
 * from the repository folder (so `--lab examples/seed-nat.yaml` resolves). Same result as exec. */
export function lvsSetup(lab, guest, args, opts = {}) {
  return lab.exec(guest, ['node', LVS_SETUP, ...args], { timeoutMs: 300000, cwd: REPO, ...opts });
}

/**
 * n HTTP GETs of url from a guest, in one exec (a loop in the guest: one round trip to the agent
 * instead of n). Returns {ok, total, bodies[], failures, ms}; a failed request's body is
 * `FAIL <curl exit code>`. okBody: a RegExp or function deciding which bodies count as ok
 * (default: any successful request).
 */
export async function curlLoop(lab, guest, url, n, opts = {}) {
  const { connectTimeout = 2, maxTime = 3, intervalS = 0, okBody } = opts;
  const script =
    `i=0; while [ $i -lt ${Number(n)} ]; do i=$((i+1)); ` +
    `b=$(curl -s -f --connect-timeout ${connectTimeout} -m ${maxTime} "$1"); rc=$?; ` +
    `if [ $rc -eq 0 ]; then printf '%s\\n' "$b"; else echo "FAIL $rc"; fi; ` +
    (intervalS ? `sleep ${intervalS}; ` : '') +
    `done`;
  const budget = n * (maxTime + intervalS + 1) * 1000 + 30000;
  const r = await lab.exec(guest, ['sh', '-c', script, 'curl-loop', url], {
    timeoutMs: opts.timeoutMs ?? budget,
  });
  const bodies = r.stdout.split('\n').filter((l) => l.length > 0);
  const good = (b) =>
    !b.startsWith('FAIL ') &&
    (okBody == null || (okBody instanceof RegExp ? okBody.test(b) : okBody(b)));
  const ok = bodies.filter(good).length;
  return { ok, total: n, bodies, failures: n - ok, ms: r.ms, timedOut: r.timedOut };
}

/** Counts of each distinct body (e.g. which real server answered). */
export function tally(bodies) {
  const m = {};
  for (const b of bodies) m[b] = (m[b] ?? 0) + 1;
  return m;
}

/** IPv4 addresses of a guest NIC (['192.168.91.141/24', ...]); [] when none. */
export async function ipv4(lab, guest, dev) {
  const r = await lab.exec(guest, ['ip', '-4', '-o', 'addr', 'show', 'dev', dev], {
    timeoutMs: 15000,
    check: true,
  });
  return r.stdout
    .split('\n')
    .map((l) => l.match(/inet (\S+)/)?.[1])
    .filter(Boolean);
}

/** Polls fn() (async, truthy = done) every intervalMs until timeoutMs; returns the value and
 * the seconds it took, or throws with `what` in the message. */
export async function waitFor(what, fn, { timeoutMs = 30000, intervalMs = 250 } = {}) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeoutMs) {
    last = await fn();
    if (last) return { value: last, seconds: (Date.now() - t0) / 1000 };
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
