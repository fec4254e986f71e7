// `node test/lab/capture-ipvsadm.mjs`: records what ipvsadm 1.31 and the kernel really print, in
// one lab guest (Debian 12's kernel and ipvsadm), into test/fixtures/ipvsadm/debian12-lab/. The
// monitor's parsers and printers are tested against these files (test/monitor/parse.test.ts).
//
// The table has what the monitor must read: scheduler flags (sh-fallback,sh-port), Route, Tunnel,
// Masq and Local servers, persistence with a netmask, UDP one-packet scheduling, IPv6 services
// and servers, IPv4 and IPv6 fwmark services, a drained server. Traffic: a local client sends
// requests through a service whose real server is this host (IPVS serves local clients), so the
// counters and rates are not all zero. Every file is read in one shell command, right after the
// traffic has been counted, twice; the capture is kept only when both readings are identical (no
// counter moved and no rate estimate was updated in between), else it is taken again.
//   LAB_SKIP_ASSETS=1 skips the asset check.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, withLab } from './harness.mjs';

const OUT = path.join(REPO, 'test/fixtures/ipvsadm/debian12-lab');

const SETUP = `set -e
ip link add lab0 type dummy
ip link set lab0 up
ip addr add 192.168.91.141/24 dev lab0
ip -6 addr add 2001:db8:91::141/64 dev lab0 nodad
ipvsadm -C
ipvsadm -A -t 192.168.91.148:80 -s sh -b sh-fallback,sh-port
ipvsadm -a -t 192.168.91.148:80 -r 192.168.91.146:80 -g -w 1
ipvsadm -a -t 192.168.91.148:80 -r 192.168.91.147:80 -i -w 2
ipvsadm -A -t 192.168.91.141:8081 -s wrr -p 120
ipvsadm -a -t 192.168.91.141:8081 -r 192.168.91.141:8081 -m -w 3
ipvsadm -A -u 192.168.91.148:53 -s rr -o
ipvsadm -a -u 192.168.91.148:53 -r 192.168.91.146:53 -m
ipvsadm -A -t [2001:db8:91::148]:80 -s wlc -p 300
ipvsadm -a -t [2001:db8:91::148]:80 -r [2001:db8:91::146]:80 -m -w 3
ipvsadm -a -t [2001:db8:91::148]:80 -r [2001:db8:91::147]:80 -m -w 0
ipvsadm -A -f 10 -6 -s lc
ipvsadm -a -f 10 -6 -r 2001:db8:91::147 -g
ipvsadm -A -f 1 -s wlc -p 300 -M 255.255.255.0
ipvsadm -a -f 1 -r 192.168.91.146 -g -w 0
`;

/** A tiny web server for the Local real server, and a client loop through the service. */
const SERVER = `require('http').createServer((q, s) => s.end('lab capture\\n')).listen(8081, '0.0.0.0')`;
const TRAFFIC = `n=0; ok=0; while [ $n -lt 60 ]; do n=$((n+1)); curl -s -m 2 -o /dev/null -w '%{http_code}\\n' http://192.168.91.141:8081/ | grep -q 200 && ok=$((ok+1)); done; echo "$ok/$n"`;

const FILES = [
  ['ipvsadm-Ln.txt', 'ipvsadm -Ln'],
  ['ipvsadm-Ln-stats-exact.txt', 'ipvsadm -Ln --stats --exact'],
  ['ipvsadm-Ln-stats.txt', 'ipvsadm -Ln --stats'],
  ['ipvsadm-Ln-rate-exact.txt', 'ipvsadm -Ln --rate --exact'],
  ['ipvsadm-Ln-rate.txt', 'ipvsadm -Ln --rate'],
  ['proc-net-ip_vs.txt', 'cat /proc/net/ip_vs'],
  ['proc-net-ip_vs_stats.txt', 'cat /proc/net/ip_vs_stats'],
];
const SEP = '=====8<=====';
const READ = FILES.map(([, cmd]) => `${cmd}; echo '${SEP}'`).join('; ');

async function main() {
  if (process.env.LAB_SKIP_ASSETS !== '1') {
    const r = spawnSync('bash', [path.join(import.meta.dirname, 'assets.sh')], {
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error('lab assets failed');
  }
  const spec = {
    name: 'capture',
    segments: ['net'],
    guests: [{ name: 'lvs', nics: [{ segment: 'net', name: 'ens33' }] }],
  };
  await withLab(spec, async (lab) => {
    await lab.sh('lvs', SETUP, { check: true });
    // a unit of its own, so it outlives the agent's shell
    await lab.sh('lvs', `systemd-run --unit=capture-web node -e "${SERVER}" && sleep 3`, {
      check: true,
    });
    const direct = await lab.sh('lvs', 'curl -s -m 5 http://192.168.91.141:8081/');
    console.log(`a first request to the service: ${direct.stdout.trim() || direct.stderr.trim()}`);
    for (let attempt = 1; attempt <= 8; attempt++) {
      const traffic = await lab.sh('lvs', TRAFFIC, { check: true, timeoutMs: 300_000 });
      console.log(`local client through 192.168.91.141:8081: ${traffic.stdout.trim()} ok`);
      // Kernel 6.x sums the per-CPU counters in its rate estimator (every 2 s): wait for the
      // requests to be counted, then read twice in a row.
      const r = await lab.sh('lvs', `sleep 4; ${READ}; ${READ}`, { check: true });
      const parts = r.stdout.split(`${SEP}\n`);
      const first = parts.slice(0, FILES.length);
      const second = parts.slice(FILES.length, 2 * FILES.length);
      if (first.join('') !== second.join('')) {
        const at = first.findIndex((f, i) => f !== second[i]);
        const a = (first[at] ?? '').split('\n');
        const b = (second[at] ?? '').split('\n');
        const line = a.findIndex((x, i) => x !== b[i]);
        console.log(
          `attempt ${attempt}: the two readings differ in ${FILES[at]?.[0]}: ${JSON.stringify(a[line])} then ${JSON.stringify(b[line])}; again`,
        );
        continue;
      }
      const version = await lab.sh('lvs', 'ipvsadm --version; uname -r', { check: true });
      fs.mkdirSync(OUT, { recursive: true });
      FILES.forEach(([name], i) => fs.writeFileSync(path.join(OUT, name), first[i] ?? ''));
      fs.writeFileSync(path.join(OUT, 'version.txt'), version.stdout);
      console.log(`wrote ${FILES.length + 1} files to ${path.relative(REPO, OUT)}/`);
      console.log(version.stdout.trim());
      return;
    }
    throw new Error('no two identical readings in 8 attempts');
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
