// Helpers for lab scenarios (test/lab/scenarios/*.mjs). Everything runs inside guests through
// the harness's agent; nothing here touches this machine's network.
import path from 'node:path';
import { REPO } from './harness.mjs';

/** The product's bundled build, as the guests see it (they share this machine's filesystem). */
// run.mjs copies dist/ into the run's folder first (LAB_LVS_SETUP): the build loads chunks on
// use, so a rebuild on this machine during a run would break the guests' running applies.
export const LVS_SETUP = process.env.LAB_LVS_SETUP ?? path.join(REPO, 'dist/lvs-setup.js');

/** Run `lvs-setup ARGS...` in a guest exactly as a user would (bundled build, not the sources),
 * from the repository folder (so `--lab examples/seed-nat.yaml` resolves). Same result as exec. */
export function lvsSetup(lab, guest, args, opts = {}) {
  return lab.exec(guest, ['node', LVS_SETUP, ...args], { timeoutMs: 1200000, cwd: REPO, ...opts });
}

/**
 * n HTTP GETs of url from a guest, in one exec (a loop in the guest: one round trip to the agent
 * instead of n). Returns {ok, total, bodies[], failures, ms}; a failed request's body is
 * `FAIL <curl exit code>`. okBody: a RegExp or function deciding which bodies count as ok
 * (default: any successful request).
 */
export async function curlLoop(lab, guest, url, n, opts = {}) {
  // A source-port range of the loop's own (opts.localPorts, [low, high]), the guest's own range
  // put back afterwards: a new connection whose client port meets an IPVS entry of an earlier
  // loop (still in TIME_WAIT for 2 min) is sent to that entry's server, not scheduled, so
  // back-to-back loops from one client would measure each other's choices.
  const { localPorts } = opts;
  if (!localPorts) return requestLoop(lab, guest, url, n, opts);
  const key = 'net.ipv4.ip_local_port_range';
  const before = (await lab.exec(guest, ['sysctl', '-n', key], { check: true })).stdout
    .trim()
    .split(/\s+/)
    .join(' ');
  await lab.exec(guest, ['sysctl', '-qw', `${key}=${localPorts[0]} ${localPorts[1]}`], {
    check: true,
  });
  try {
    return await requestLoop(lab, guest, url, n, opts);
  } finally {
    await lab.exec(guest, ['sysctl', '-qw', `${key}=${before}`], { check: true });
  }
}

async function requestLoop(lab, guest, url, n, opts) {
  const { connectTimeout = 2, maxTime = 3, intervalS = 0, okBody } = opts;
  const budget = n * (maxTime + intervalS + 1) * 1000 + 30000;
  const good = (b) =>
    !b.startsWith('FAIL ') &&
    (okBody == null || (okBody instanceof RegExp ? okBody.test(b) : okBody(b)));
  let bodies;
  let r;
  if (intervalS) {
    // Requests spread over time (a loop across a failover): one curl per request.
    const script =
      `i=0; while [ $i -lt ${Number(n)} ]; do i=$((i+1)); ` +
      `b=$(curl -s -f --connect-timeout ${connectTimeout} -m ${maxTime} "$1"); rc=$?; ` +
      `if [ $rc -eq 0 ]; then printf '%s\\n' "$b"; else echo "FAIL $rc"; fi; ` +
      `sleep ${intervalS}; done`;
    r = await lab.exec(guest, ['sh', '-c', script, 'curl-loop', url], {
      timeoutMs: opts.timeoutMs ?? budget,
    });
    bodies = r.stdout.split('\n').filter((l) => l.length > 0);
  } else {
    // Back to back: one curl for all n requests (a process per request costs ~0.2 s in a TCG
    // guest). `Connection: close` makes each request its own TCP connection, which IPVS
    // schedules on its own, as with separate curls; each transfer's body is followed by its
    // HTTP code and curl exit code, and a failed one does not stop the rest.
    r = await lab.exec(
      guest,
      [
        'curl',
        '-s',
        '-f',
        '--connect-timeout',
        String(connectTimeout),
        '-m',
        String(maxTime),
        '-H',
        'Connection: close',
        '-w',
        '\n@@%{http_code} %{exitcode}@@\n',
        ...Array.from({ length: n }, () => url),
      ],
      { timeoutMs: opts.timeoutMs ?? budget },
    );
    bodies = [];
    const marker = /@@(\d{3}) (\d+)@@\n/g;
    let from = 0;
    for (const m of r.stdout.matchAll(marker)) {
      const body = r.stdout.slice(from, m.index).trim();
      from = m.index + m[0].length;
      bodies.push(m[2] === '0' ? body : `FAIL ${m[2]}`);
    }
  }
  const ok = bodies.filter(good).length;
  return { ok, total: n, bodies, failures: n - ok, ms: r.ms, timedOut: r.timedOut };
}

/**
 * `ipvsadm -Ln --stats --exact` once the counters have caught up: kernel 6.x sums its per-CPU
 * counters in the rate estimator, every 2 s, so a reading right after a fast loop misses its
 * last ~2 s (measured: 134 of 200 connections, exactly 4 packets each, right after a one-curl
 * loop). Read until two readings a whole estimator period apart (2.2 s) agree, at most
 * `timeoutMs`; the last reading either way.
 */
export async function settledStats(lab, guest, { timeoutMs = 15000 } = {}) {
  const read = () => lab.exec(guest, ['ipvsadm', '-Ln', '--stats', '--exact'], { check: true });
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  for (;;) {
    await new Promise((r) => setTimeout(r, 2200));
    const next = await read();
    if (next.stdout === last.stdout || Date.now() > deadline) return next;
    last = next;
  }
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

/**
 * Like Promise.all, but waits for every promise to settle before throwing the first failure, so
 * that no guest request is still in flight when the scenario fails and the lab is torn down (its
 * rejection would then be unhandled and end the runner, losing the later groups).
 */
export async function allDone(promises) {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => r.value);
}

/**
 * `lvs-setup apply --lab FILE --host H --yes` on each of hosts, in parallel (as students would
 * on five VMs at once). Returns {host: {code, ms, stdout, stderr}}; with t, prints each host's
 * duration as a figure. Throws (with the output) when an apply fails unless allowFail.
 * hosts: names, or {guest, host} when the guest is not named like the lab file's host.
 */
export async function applyAll(
  lab,
  t,
  labFile,
  hosts,
  { allowFail = false, label = 'apply' } = {},
) {
  const list = hosts.map((h) => (typeof h === 'string' ? { guest: h, host: h } : h));
  const out = {};
  await allDone(
    list.map(async ({ guest, host }) => {
      const r = await lvsSetup(lab, guest, ['apply', '--lab', labFile, '--host', host, '--yes']);
      out[guest] = r;
      t?.figure(
        `${label} ${guest} s`,
        `${(r.ms / 1000).toFixed(1)}${r.code === 0 ? '' : ` (exit ${r.code})`}`,
      );
    }),
  );
  if (!allowFail) {
    const bad = list.filter(({ guest }) => out[guest].code !== 0 || out[guest].timedOut);
    if (bad.length) {
      throw new Error(
        bad
          .map(({ guest }) => {
            const r = out[guest];
            const text = `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-40).join('\n');
            return `${label} on ${guest} failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}):\n${text}`;
          })
          .join('\n\n'),
      );
    }
  }
  return out;
}

/** The text apply prints when a host already matches the lab file. */
export const NO_CHANGES = 'No changes. This host already matches the lab file.';

/** State that scenarios of one layout pass on to the next (they run in file-name order). */
export const shared = {};

/** sha256 of every regular file under dirs in a guest: Map(path -> hash). */
export async function hashFiles(lab, guest, dirs = ['/etc', '/var/www', '/usr/local']) {
  const r = await lab.sh(
    guest,
    `find ${dirs.join(' ')} -xdev -type f -print0 2>/dev/null | xargs -0 -r sha256sum`,
    { timeoutMs: 180000 },
  );
  const m = new Map();
  for (const line of r.stdout.split('\n')) {
    const k = line.match(/^([0-9a-f]{64})\s+(.*)$/);
    if (k) m.set(k[2], k[1]);
  }
  return m;
}

/** What scenario 6 compares before/after a second apply: the IPVS table, the nat rules, the
 * addresses and the sysctls lvs-setup manages. */
export const STATE_SCRIPT =
  'echo "## ipvsadm -Sn"; [ -e /proc/net/ip_vs ] && ipvsadm -Sn; ' +
  'echo "## iptables -t nat -S"; iptables -t nat -S 2>&1; ' +
  'echo "## ip addr"; ip addr; ' +
  'echo "## sysctl"; sysctl -a -r "^net\\.ipv4\\.(ip_forward|conf\\.|vs\\.)" 2>/dev/null';

export async function hostState(lab, guest) {
  const r = await lab.sh(guest, STATE_SCRIPT, { timeoutMs: 60000 });
  return r.stdout;
}

/** The lines that differ between two texts (for failure messages). */
export function lineDiff(a, b) {
  const A = a.split('\n');
  const B = b.split('\n');
  const sa = new Set(A);
  const sb = new Set(B);
  return [
    ...A.filter((l) => !sb.has(l)).map((l) => `- ${l}`),
    ...B.filter((l) => !sa.has(l)).map((l) => `+ ${l}`),
  ];
}

/** Copies a guest's lvs-setup log into the run folder (kept on failure). */
export async function keepLog(lab, guest, tag) {
  try {
    const r = await lab.exec(guest, ['cat', '/var/lib/lvs-setup/lvs-setup.log']);
    const fs = await import('node:fs');
    fs.mkdirSync(path.join(lab.runDir, guest), { recursive: true });
    fs.writeFileSync(path.join(lab.runDir, guest, `lvs-setup-${tag}.log`), r.stdout);
  } catch {
    /* the guest is off */
  }
}

/** `lvs-setup doctor --lab FILE --host H --json` in a guest: Map(check id -> {status, fix, ...}). */
export async function doctor(lab, guest, labFile, host = guest) {
  const r = await lvsSetup(lab, guest, ['doctor', '--lab', labFile, '--host', host, '--json'], {
    timeoutMs: 180000,
  });
  let list;
  try {
    list = JSON.parse(r.stdout);
  } catch {
    throw new Error(`doctor on ${guest}: no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
  return new Map(list.map((c) => [c.id, c]));
}

/**
 * Issue 7's break/fix proof, one trap at a time: `break` (sh in the guest) sets the trap;
 * doctor on `doctorOn` (default: the same guest) must report `check` as fail (or one of
 * `statuses`) with a fix that mentions `fixMentions`; `fix` (sh) applies that fix; doctor must
 * then report the check as pass. Returns the rows printed as figures.
 */
export async function runTraps(lab, t, labFile, traps) {
  const rows = [];
  const problems = [];
  for (const trap of traps) {
    const on = trap.doctorOn ?? trap.guest;
    const host = trap.host ?? on;
    const b = await lab.sh(trap.guest, trap.break, { timeoutMs: 60000 });
    if (b.code !== 0) {
      problems.push(`${trap.name}: breaking it failed: ${b.stderr}`);
      continue;
    }
    const broken = (await doctor(lab, on, labFile, host)).get(trap.check);
    const fixText = broken?.fix ?? '';
    const okBroken =
      broken &&
      (trap.statuses ?? ['fail']).includes(broken.status) &&
      fixText.includes(trap.fixMentions);
    await lab.sh(trap.fixOn ?? trap.guest, trap.fix, { timeoutMs: 120000 });
    const fixed = (await doctor(lab, on, labFile, host)).get(trap.check);
    const okFixed = fixed?.status === 'pass';
    rows.push(
      `${trap.name} [${trap.check}]: ${broken?.status ?? 'missing'} -> ${fixed?.status ?? 'missing'}`,
    );
    t.figure(
      `trap ${trap.name}`,
      `${broken?.status ?? 'missing'} -> ${fixed?.status ?? 'missing'}`,
    );
    if (!okBroken)
      problems.push(
        `${trap.name}: doctor on ${on} gave ${trap.check} = ${broken?.status} (${broken?.detail}); fix: ${fixText || 'none'}; expected ${(trap.statuses ?? ['fail']).join('/')} with a fix mentioning "${trap.fixMentions}"`,
      );
    if (!okFixed)
      problems.push(
        `${trap.name}: after the fix doctor on ${on} gave ${trap.check} = ${fixed?.status}: ${fixed?.detail}`,
      );
  }
  t.assert(problems.length === 0, problems.join('\n'));
  return rows;
}
