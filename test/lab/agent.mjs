// The lab's guest agent: runs INSIDE a lab guest (started by lab-agent.service, which the harness
// writes into the guest's overlay). It speaks JSON lines over the virtio-serial port named
// lab.agent (/dev/vportNpM); the harness (test/lab/harness.mjs) is the other end.
//
// Requests  {id, op: 'ping'}
//           {id, op: 'exec', argv: [...], timeoutMs, input?, cwd?, env?}
//           {id, op: 'read', path}                       (file content back as base64)
//           {id, op: 'write', path, data (base64), mode?}
// Replies   {id, ok: true, ...result} or {id, ok: false, error}
// Results   ping: {bootId, uptime}; exec: {code, signal, stdout, stderr, timedOut, ms}
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const PORT_NAME = process.argv[2] ?? 'lab.agent';
const MAX_OUTPUT = 32 * 1024 * 1024;
const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

function uptime() {
  return Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

function runExec(req) {
  return new Promise((resolve) => {
    const started = Date.now();
    if (!Array.isArray(req.argv) || req.argv.length === 0) {
      resolve({ ok: false, error: 'exec needs a non-empty argv array' });
      return;
    }
    let child;
    try {
      child = spawn(req.argv[0], req.argv.slice(1), {
        cwd: req.cwd ?? '/root',
        env: { ...process.env, ...(req.env ?? {}) },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true, // own process group: a timeout kills the whole tree
      });
    } catch (err) {
      resolve({ ok: false, error: String(err) });
      return;
    }
    const out = [];
    const errb = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    child.stdout.on('data', (b) => {
      if (outLen < MAX_OUTPUT) out.push(b);
      outLen += b.length;
    });
    child.stderr.on('data', (b) => {
      if (errLen < MAX_OUTPUT) errb.push(b);
      errLen += b.length;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, req.timeoutMs ?? 60000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, error: String(err), ms: Date.now() - started });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        ok: true,
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(errb).toString('utf8'),
        ms: Date.now() - started,
      });
    });
    child.stdin.on('error', () => {});
    if (req.input != null) child.stdin.end(req.input);
    else child.stdin.end();
  });
}

async function handle(req) {
  switch (req.op) {
    case 'ping':
      return { ok: true, bootId, uptime: uptime() };
    case 'exec':
      return runExec(req);
    case 'read':
      return { ok: true, data: fs.readFileSync(req.path).toString('base64') };
    case 'write':
      fs.writeFileSync(req.path, Buffer.from(req.data, 'base64'), { mode: req.mode ?? 0o644 });
      return { ok: true };
    default:
      return { ok: false, error: `unknown op ${req.op}` };
  }
}

// The port is /dev/vportNpM whose sysfs name is PORT_NAME (no udev rule needed for the
// /dev/virtio-ports/<name> symlink, which Debian's udev does not ship).
function findPort() {
  const dir = '/sys/class/virtio-ports';
  for (const p of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    try {
      if (fs.readFileSync(`${dir}/${p}/name`, 'utf8').trim() === PORT_NAME) return `/dev/${p}`;
    } catch {
      /* not a named port */
    }
  }
  return null;
}

// The port is a character device: blocking reads happen on libuv's thread pool; writes go
// through the same fd, serialised by a promise chain so replies never interleave.
async function serve() {
  for (;;) {
    let fd;
    const PORT = findPort();
    try {
      if (!PORT) throw new Error('no such virtio port');
      fd = fs.openSync(PORT, 'r+');
    } catch (err) {
      console.error(`agent: cannot open port ${PORT_NAME}: ${err.message}`);
      await sleep(500);
      continue;
    }
    let writing = Promise.resolve();
    const send = (obj) => {
      const line = Buffer.from(JSON.stringify(obj) + '\n');
      writing = writing.then(
        () =>
          new Promise((resolve) => {
            const writeAll = (off) =>
              fs.write(fd, line, off, line.length - off, null, (err, n) => {
                if (err)
                  resolve(); // host side gone: the reply is lost, the harness times out
                else if (off + n < line.length) writeAll(off + n);
                else resolve();
              });
            writeAll(0);
          }),
      );
    };
    console.error(`agent: serving on ${PORT} (boot ${bootId})`);
    let pending = '';
    const buf = Buffer.alloc(65536);
    for (;;) {
      const n = await new Promise((resolve) =>
        fs.read(fd, buf, 0, buf.length, null, (err, bytes) => resolve(err ? -1 : bytes)),
      );
      if (n <= 0) break; // EOF / error: the host disconnected; reopen
      pending += buf.subarray(0, n).toString('utf8');
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line) continue;
        let req;
        try {
          req = JSON.parse(line);
        } catch {
          continue;
        }
        handle(req)
          .catch((err) => ({ ok: false, error: String(err?.message ?? err) }))
          .then((res) => send({ id: req.id, ...res }));
      }
    }
    await writing;
    try {
      fs.closeSync(fd);
    } catch {
      /* ignore */
    }
    await sleep(200);
  }
}

serve();
