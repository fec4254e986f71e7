// A stand-in for dist/ipvs-read --serve in counter-reader tests (node, no netlink): answers each
// "stats"/"rate" line with a listing file and "#end", in the helper's framing.
//   --stats=FILE --rate=FILE  what to answer
//   --starts=FILE             appends a line per start (to count processes)
//   --mode=ok | error | die-after=N | silent | chunked
import { appendFileSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const opt = Object.fromEntries(
  process.argv
    .slice(2)
    .filter((a) => a.startsWith('--') && a.includes('='))
    .map((a) => a.slice(2).split(/=(.*)/s).slice(0, 2)),
);
const mode = opt.mode ?? 'ok';
if (opt.starts) appendFileSync(opt.starts, `${process.pid}\n`);
let served = 0;
const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  served++;
  if (mode.startsWith('die-after=') && served > Number(mode.slice(10))) process.exit(3);
  if (mode === 'silent') return;
  if (mode === 'error') {
    process.stdout.write('#error 1 reading IPVS needs root (CAP_NET_ADMIN)\n#end\n');
    return;
  }
  if (line !== 'stats' && line !== 'rate') {
    process.stdout.write('#error 22 expected a line: stats or rate\n#end\n');
    return;
  }
  const text = `${readFileSync(opt[line], 'utf8')}#end\n`;
  if (mode === 'chunked') {
    // the reply in small pieces, the end line split across two of them
    for (let i = 0; i < text.length; i += 7) {
      process.stdout.write(text.slice(i, i + 7));
      await new Promise((r) => setTimeout(r, 0));
    }
    return;
  }
  process.stdout.write(text);
});
