// Issue 6: the monitor's netlink reader (dist/ipvs-read, source/native/ipvs-read.c) in the real
// kernel. On a scratch table of every kind of service (TCP/UDP, IPv4/IPv6, fwmark IPv4/IPv6,
// persistence, Local/Route/Tunnel servers) with traffic on one, `ipvs-read --stats` and
// `--rate` print what `ipvsadm -Ln --stats --exact` / `--rate --exact` print (same lines, the
// kernel's order instead of ipvsadm's sorted one); `--serve` answers the same, framed; without
// root it says so; and `monitor --once --json` reads its counters through it. Runs on the NAT
// lab's client (its own addresses, 10.99.x and 2001:db8:99::, all removed afterwards).
import path from 'node:path';
import { LVS_SETUP } from '../lib.mjs';
import { natLab } from '../labs.mjs';
import { REPO } from '../harness.mjs';

const G = 'client';
const READER = path.join(path.dirname(LVS_SETUP), 'ipvs-read');

const SETUP = `set -e
modprobe ip_vs
ip link add scratch0 type dummy
ip link set scratch0 up
ip addr add 10.99.0.1/24 dev scratch0
ip -6 addr add 2001:db8:99::1/64 dev scratch0 nodad
ipvsadm -A -t 10.99.0.8:80 -s sh
ipvsadm -a -t 10.99.0.8:80 -r 10.99.0.6:80 -g -w 1
ipvsadm -a -t 10.99.0.8:80 -r 10.99.0.7:80 -i -w 2
ipvsadm -A -t 10.99.0.1:8081 -s wrr -p 120
ipvsadm -a -t 10.99.0.1:8081 -r 10.99.0.1:8081 -m -w 3
ipvsadm -A -u 10.99.0.8:53 -s rr -o
ipvsadm -a -u 10.99.0.8:53 -r 10.99.0.6:53 -m
ipvsadm -A -t [2001:db8:99::8]:80 -s wlc -p 300
ipvsadm -a -t [2001:db8:99::8]:80 -r [2001:db8:99::6]:80 -m -w 3
ipvsadm -a -t [2001:db8:99::8]:80 -r [2001:db8:99::7]:80 -m -w 0
ipvsadm -A -f 10 -6 -s lc
ipvsadm -a -f 10 -6 -r 2001:db8:99::7 -g
ipvsadm -A -f 1 -s wlc -p 300 -M 255.255.255.0
ipvsadm -a -f 1 -r 10.99.0.6 -g -w 0
`;
const CLEANUP = `systemctl stop scratch-web 2>/dev/null; ipvsadm -C; ip link del scratch0 2>/dev/null; true`;
const SERVER = `require('http').createServer((q, s) => s.end('scratch\\n')).listen(8081, '10.99.0.1')`;
const TRAFFIC = `ok=0; for i in $(seq 30); do curl -s -m 2 -o /dev/null -w '%{http_code}\\n' http://10.99.0.1:8081/ | grep -q 200 && ok=$((ok+1)); done; echo $ok`;
const SEP = '=====8<=====';
const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/**
 * A listing as a set: the title lines, then each service line with its servers' lines sorted
 * under it, services sorted; blanks collapsed (ipvsadm pads columns, the reader too but not the
 * same). Every number and name is kept.
 */
function normalise(text) {
  const lines = text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter(Boolean);
  const head = [];
  const blocks = [];
  for (const l of lines) {
    if (l.startsWith('-> ') && blocks.length) blocks[blocks.length - 1].dests.push(l);
    else if (/^(TCP|UDP|SCTP|FWM) /.test(l)) blocks.push({ line: l, dests: [] });
    else head.push(l);
  }
  const body = blocks.map((b) => [b.line, ...b.dests.sort()].join('\n')).sort();
  return [...head, ...body].join('\n');
}

function firstDifference(a, b) {
  const x = a.split('\n');
  const y = b.split('\n');
  const i = x.findIndex((l, k) => l !== y[k]);
  return i < 0
    ? `(lengths ${x.length} vs ${y.length})`
    : `${JSON.stringify(x[i])} vs ${JSON.stringify(y[i])}`;
}

export default {
  name: 'Netlink reader: ipvs-read prints what ipvsadm prints, and the monitor reads through it',
  lab: natLab,
  timeoutMs: 8 * 60 * 1000,

  async run(lab, t) {
    await lab.sh(G, CLEANUP);
    try {
      await lab.sh(G, SETUP, { check: true });
      await lab.sh(G, `systemd-run --unit=scratch-web node -e ${shq(SERVER)} && sleep 3`, {
        check: true,
      });
      const ok = await lab.sh(G, TRAFFIC, { check: true, timeoutMs: 180_000 });
      t.figure('requests through 10.99.0.1:8081', `${ok.stdout.trim()}/30`);
      t.assert(Number(ok.stdout.trim()) > 0, 'no request went through the scratch service');

      // 1. the same listing as ipvsadm's, counters and rates, read back to back (the kernel
      //    moves them every 2 s: a pair that straddles its pass is read again)
      const read = `ipvsadm -Ln --stats --exact; echo '${SEP}'; ${shq(READER)} --stats; echo '${SEP}'; ipvsadm -Ln --rate --exact; echo '${SEP}'; ${shq(READER)} --rate`;
      let last = '';
      let same = false;
      let nonZero = false;
      for (let attempt = 1; attempt <= 8 && !same; attempt++) {
        const r = await lab.sh(G, read);
        const parts = r.stdout.split(`${SEP}\n`);
        t.assert(
          r.code === 0 && parts.length === 4,
          `the four listings: exit ${r.code}, ${parts.length} parts\n${r.stdout.slice(-2000)}\n${r.stderr}`,
        );
        const [stats, nlStats, rate, nlRate] = parts.map(normalise);
        same = stats === nlStats && rate === nlRate;
        nonZero = /\n-> 10\.99\.0\.1:8081 [1-9]/.test(nlStats);
        last =
          stats !== nlStats
            ? `stats: ${firstDifference(stats, nlStats)}`
            : `rate: ${firstDifference(rate, nlRate)}`;
        if (!same) t.log(`attempt ${attempt}: ${last}`);
      }
      t.assert(same, `ipvs-read and ipvsadm differ: ${last}`);
      t.assert(nonZero, 'the Local server shows no connections in ipvs-read --stats');

      // 2. --serve: the same listings, each followed by #end; a bad request answered, not fatal
      const served = await lab.sh(
        G,
        `printf 'stats\\nbogus\\nrate\\n' | ${shq(READER)} --serve; echo "exit $?"`,
        { check: true },
      );
      const replies = served.stdout.split('#end\n');
      t.assert(replies.length === 4, `--serve gave ${replies.length - 1} replies to 3 requests`);
      t.assert(
        /^Prot LocalAddress:Port\s+Conns/m.test(replies[0]),
        '--serve stats: no stats title',
      );
      t.assert(replies[1].startsWith('#error 22 '), `--serve bogus: ${JSON.stringify(replies[1])}`);
      t.assert(/^Prot LocalAddress:Port\s+CPS/m.test(replies[2]), '--serve rate: no rate title');
      t.assert(replies[3].trim() === 'exit 0', `--serve at end of input: ${replies[3].trim()}`);

      // 3. not root: a clear message, exit 1 (the monitor then hands over to ipvsadm)
      const nobody = await lab.sh(
        G,
        `setpriv --reuid=65534 --regid=65534 --clear-groups ${shq(READER)} --stats; echo "exit $?"`,
      );
      t.assert(
        /needs root/.test(nobody.stderr) && nobody.stdout.trim().endsWith('exit 1'),
        `as nobody: ${nobody.stdout.trim()} ${nobody.stderr.trim()}`,
      );

      // 4. what it costs against ipvsadm, 20 readings each of this table
      const cost = await lab.exec(
        G,
        [
          'bash',
          '-c',
          `TIMEFORMAT=%U+%S; time (for i in $(seq 20); do ipvsadm -Ln --stats --exact >/dev/null; done); time (for i in $(seq 20); do ${shq(READER)} --stats >/dev/null; done); time (yes stats | head -20 | ${shq(READER)} --serve >/dev/null)`,
        ],
        { check: true },
      );
      const cpu = cost.stderr
        .trim()
        .split('\n')
        .map((l) => l.split('+').reduce((a, b) => a + Number(b), 0));
      t.figure(
        'CPU for 20 readings: ipvsadm / ipvs-read / one ipvs-read --serve',
        cpu.map((s) => `${s.toFixed(2)} s`).join(' / '),
      );

      // 5. the monitor reads through it
      const j = await lab.exec(G, ['node', LVS_SETUP, 'monitor', '--once', '--json'], {
        cwd: REPO,
        timeoutMs: 60000,
      });
      t.assert(j.code === 0, `monitor --once --json: exit ${j.code}: ${j.stderr}`);
      const snap = JSON.parse(j.stdout);
      t.figure('monitor countersFrom', snap.countersFrom);
      t.assert(snap.countersFrom === 'netlink', `countersFrom is ${snap.countersFrom}`);
      const local = snap.services
        .find((s) => s.address === '10.99.0.1' && s.port === 8081)
        ?.destinations.find((d) => d.address === '10.99.0.1');
      t.assert(
        local && local.counters.conns > 0,
        `the Local server's counters: ${JSON.stringify(local?.counters)}`,
      );
      t.assert(snap.services.length === 6, `monitor saw ${snap.services.length} services, not 6`);
    } finally {
      await lab.sh(G, CLEANUP);
    }
  },
};
