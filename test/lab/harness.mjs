// The real-kernel lab harness: boots qemu guests (Debian's generic kernel, which has IPVS) that
// share this machine's root filesystem read-only over 9p with a private overlay each, systemd as
// init, NICs named as the lab file says and unconfigured, wired through taps and bridges inside a
// network namespace made for the run. Nothing leaves that namespace: guests have no other NIC.
//
//   import { createLab, withLab } from './harness.mjs';
//   await withLab({ segments: ['net91', 'net81'], guests: [
//       { name: 'lvs', nics: [{ segment: 'net91', name: 'ens33' }, { segment: 'net81', name: 'ens37' }] },
//       { name: 'web1', nics: [{ segment: 'net81', name: 'ens33' }], persistent: true },
//     ] }, async (lab) => {
//     await lab.start();
//     const r = await lab.exec('lvs', ['ip', '-br', 'addr'], { timeoutMs: 10000 });
//   });
//
// Needs root and the assets of test/lab/assets.sh (.lab-cache/current.env).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CACHE_DIR = path.join(REPO, '.lab-cache');
export const LAB_DIR = path.join(REPO, '.lab');
const AGENT = path.join(REPO, 'test/lab/agent.mjs');

// Units of this machine that a lab guest does not need: under TCG every process costs, so these
// are masked (symlink to /dev/null in the guest's overlay). None of them is anything lvs-setup
// configures. Measured: a guest boots on ~30 s of CPU with these masked, ~60 s without.
export const DEFAULT_MASKED_UNITS = [
  'postgresql.service',
  'postgresql@.service',
  'getty.target',
  'getty@.service',
  'serial-getty@.service',
  'console-getty.service',
  'e2scrub_reap.service',
  'e2scrub_all.timer',
  'systemd-timesyncd.service',
  'systemd-pstore.service',
  'apt-daily.timer',
  'apt-daily-upgrade.timer',
  'dpkg-db-backup.timer',
  'fstrim.timer',
  'man-db.timer',
  'nfs-blkmap.service',
  'systemd-logind.service',
  'systemd-user-sessions.service',
  'systemd-update-utmp.service',
  'systemd-update-utmp-runlevel.service',
  'modprobe@drm.service',
  'modprobe@fuse.service',
  'modprobe@loop.service',
  'modprobe@dm_mod.service',
  'modprobe@configfs.service',
  'dev-hugepages.mount',
  'dev-mqueue.mount',
  'sys-kernel-debug.mount',
  'sys-kernel-tracing.mount',
  'sys-fs-fuse-connections.mount',
  'sys-kernel-config.mount',
  'systemd-binfmt.service',
  'proc-sys-fs-binfmt_misc.automount',
  'systemd-random-seed.service',
  'systemd-journal-flush.service', // the journal is volatile (/run) in the guests
  'systemd-sysusers.service',
];

// Generators (each ~0.5 s under TCG) that have nothing to find in a lab guest. Kept: fstab, sysv
// (ipvsadm's init script), rc-local, run, debug, nfs-server, rpc-pipefs.
export const DEFAULT_MASKED_GENERATORS = [
  'postgresql-generator',
  'systemd-cryptsetup-generator',
  'systemd-getty-generator',
  'systemd-gpt-auto-generator',
  'systemd-hibernate-resume-generator',
  'systemd-integritysetup-generator',
  'systemd-system-update-generator',
  'systemd-veritysetup-generator',
];

// The services of the packages the lab installed on this machine. apt enabled them here (Debian
// enables what it installs); in a guest they start DISABLED by default (services: 'disabled'),
// as on a host where lvs-setup must enable and start what it needs (CentOS/RHEL style, and the
// reboot scenario proves it did). services: 'as-installed' keeps Debian's package state.
export const LAB_SERVICES = [
  'nginx.service',
  'keepalived.service',
  'nfs-server.service',
  'rpcbind.service',
  'rpcbind.socket',
  'nfs-client.target',
];
export const LAB_SYSV_SERVICES = ['ipvsadm']; // enabled through /etc/rc?.d/S* links

const live = new Set(); // labs not yet destroyed: torn down on signals and at exit

function log(...a) {
  console.error(`[lab ${new Date().toISOString().slice(11, 19)}]`, ...a);
}

/** Run a command on this machine; throws with stderr on a non-zero exit. */
function host(argv, { allowFail = false, timeoutMs = 30000 } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  if (!allowFail && r.status !== 0) {
    throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr || r.error}`);
  }
  return r;
}

/** Reads .lab-cache/current.env written by assets.sh. */
export function readAssets() {
  const file = path.join(CACHE_DIR, 'current.env');
  if (!fs.existsSync(file)) {
    throw new Error(`lab assets missing: run "bash test/lab/assets.sh" first (${file})`);
  }
  const env = Object.fromEntries(
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  for (const k of ['KVER', 'VMLINUZ', 'INITRD', 'MODULES']) {
    if (!env[k]) throw new Error(`${file} lacks ${k}`);
  }
  return env;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes what an earlier run left when its process died without tearing down (SIGKILL, power
 * loss): qemu processes and namespaces of runs whose owner pid is gone. Only touches processes
 * whose command line carries that run's own folder under .lab/.
 */
export function cleanupStale() {
  if (!fs.existsSync(LAB_DIR)) return;
  for (const run of fs.readdirSync(LAB_DIR)) {
    const dir = path.join(LAB_DIR, run);
    const ownerFile = path.join(dir, 'owner.json');
    if (!fs.existsSync(ownerFile)) continue;
    let owner;
    try {
      owner = JSON.parse(fs.readFileSync(ownerFile, 'utf8'));
    } catch {
      continue;
    }
    if (owner.done || pidAlive(owner.pid)) continue;
    for (const pidFile of owner.qemuPidFiles ?? []) {
      try {
        const pid = Number(fs.readFileSync(pidFile, 'utf8'));
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (cmd.includes('qemu-system') && cmd.includes(dir)) {
          log(`stale run ${run}: killing qemu ${pid}`);
          process.kill(pid, 'SIGKILL');
        }
      } catch {
        /* gone */
      }
    }
    if (owner.netns) host(['ip', 'netns', 'del', owner.netns], { allowFail: true });
    owner.done = true;
    fs.writeFileSync(ownerFile, JSON.stringify(owner));
  }
}

let handlersInstalled = false;
function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      log(`${sig}: tearing the lab down`);
      const all = [...live].map((lab) => lab.destroy({ keep: true }).catch(() => {}));
      Promise.race([Promise.all(all), sleep(15000)]).finally(() => process.exit(130));
    });
  }
  // Last resort (uncaught exception, process.exit): synchronous kill + namespace removal.
  process.on('exit', () => {
    for (const lab of live) lab.destroySync();
  });
}

// ------------------------------------------------------------------ QMP (qemu's control socket)
async function qmp(sockPath, command, args) {
  return new Promise((resolve, reject) => {
    const s = net.connect(sockPath);
    let buf = '';
    let step = 0;
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`QMP ${command}: timeout`));
    }, 5000);
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(null); // 'quit' closes the socket
    });
    s.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.QMP && step === 0) {
          step = 1;
          s.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        } else if (msg.return !== undefined && step === 1) {
          step = 2;
          s.write(JSON.stringify({ execute: command, arguments: args ?? {} }) + '\n');
        } else if ((msg.return !== undefined || msg.error) && step === 2) {
          clearTimeout(t);
          s.end();
          if (msg.error) reject(new Error(`QMP ${command}: ${msg.error.desc}`));
          else resolve(msg.return);
        }
      }
    });
  });
}

// ------------------------------------------------------------------ the agent channel
class AgentChannel {
  constructor(sockPath, name) {
    this.sockPath = sockPath;
    this.name = name;
    this.sock = null;
    this.nextId = 1;
    this.pending = new Map();
    this.buf = '';
  }

  async connect(deadline) {
    while (Date.now() < deadline) {
      try {
        this.sock = await new Promise((resolve, reject) => {
          const s = net.connect(this.sockPath);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        break;
      } catch {
        await sleep(100);
      }
    }
    if (!this.sock) throw new Error(`${this.name}: cannot connect to ${this.sockPath}`);
    this.sock.on('data', (d) => this.onData(d));
    this.sock.on('error', () => {});
    this.sock.on('close', () => {
      this.sock = null;
      for (const p of this.pending.values()) p.reject(new Error(`${this.name}: guest is gone`));
      this.pending.clear();
    });
  }

  onData(d) {
    this.buf += d.toString('utf8');
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      const p = this.pending.get(msg.id);
      if (p) {
        this.pending.delete(msg.id);
        p.resolve(msg);
      }
    }
  }

  request(req, timeoutMs) {
    if (!this.sock) return Promise.reject(new Error(`${this.name}: not connected`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${req.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.sock.write(JSON.stringify({ id, ...req }) + '\n');
    });
  }

  close() {
    this.sock?.destroy();
    this.sock = null;
  }
}

// ------------------------------------------------------------------ the lab
const hex2 = (n) => n.toString(16).padStart(2, '0');
const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/**
 * @typedef {object} NicSpec
 * @property {string} segment  one of LabSpec.segments (an L2 bridge in the lab's namespace)
 * @property {string} name     the NIC's name inside the guest (ens33, ens37): set by MAC at boot
 * @property {string} [mac]    default 52:54:00:<segment#>:<guest#>:<nic#>
 *
 * @typedef {object} GuestSpec
 * @property {string} name     hostname; [a-z][a-z0-9-]*
 * @property {NicSpec[]} nics  the guest's only NICs; unconfigured (down, no address) at boot
 * @property {boolean} [persistent]  overlay on an ext4 disk image (survives reboot/powerOn);
 *                                   default: tmpfs (every boot is a fresh machine)
 * @property {number} [diskMiB]      persistent disk size (2048)
 * @property {DiskSpec[]} [disks]    more disks, ext4, mounted at boot (/etc/fstab, by label): a
 *                                   real VM's directories live on a real filesystem, and the
 *                                   guest's own (overlayfs over 9p) cannot be exported by knfsd
 * @property {number} [memMiB]       768
 * @property {'disabled'|'as-installed'} [services]  LAB_SERVICES state at first boot ('disabled')
 * @property {string[]} [mask]       more units to mask;  [unmask]: DEFAULT_MASKED_UNITS to keep
 * @property {string[]} [disable]    more units to disable at first boot
 * @property {Record<string, string|Buffer>} [files]  absolute guest path -> content, first boot
 * @property {string} [append]       extra kernel command line;  [cpu]: qemu -cpu model
 *
 * @typedef {object} DiskSpec
 * @property {string} mount    where the guest mounts it
 * @property {number} [mib]    size of an empty disk (32)
 * @property {string} [from]   a directory of this machine copied into it (mkfs.ext4 -d); built
 *                             once into .lab-cache and attached copy-on-write (snapshot=on)
 *
 * @typedef {object} LabSpec
 * @property {string[]} segments
 * @property {GuestSpec[]} guests
 * @property {string} [name]            names the run folder .lab/<name>-<time>-<pid>/
 * @property {number} [bootTimeoutMs]   per boot (start, powerOn, reboot); default 300000
 */

/** Creates (does not start) a lab. Always pair with destroy(), or use withLab(). */
export function createLab(spec) {
  const assets = readAssets();
  if (/\s/.test(REPO)) throw new Error(`the lab cannot run from a path with spaces: ${REPO}`);
  cleanupStale();
  installHandlers();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const runId = `${spec.name ?? 'run'}-${stamp}-${process.pid}`;
  const runDir = path.join(LAB_DIR, runId);
  const netns = `lvslab-${process.pid}-${randomBytes(2).toString('hex')}`;
  fs.mkdirSync(runDir, { recursive: true });
  // Unix sockets: 108 bytes max; fall back to a short folder when the checkout path is long.
  const sockDir =
    runDir.length < 80 ? runDir : fs.mkdtempSync(path.join('/tmp', `lvslab-${process.pid}-`));
  const bootTimeoutMs = spec.bootTimeoutMs ?? 300000;

  const segIndex = new Map(spec.segments.map((s, i) => [s, i]));
  const guests = new Map();
  spec.guests.forEach((g, gi) => {
    if (guests.has(g.name)) throw new Error(`guest ${g.name} twice`);
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(g.name)) throw new Error(`bad guest name ${g.name}`);
    const nics = g.nics.map((n, ni) => {
      if (!segIndex.has(n.segment)) throw new Error(`${g.name}: unknown segment ${n.segment}`);
      return {
        ...n,
        mac: n.mac ?? `52:54:00:${hex2(segIndex.get(n.segment))}:${hex2(gi)}:${hex2(ni)}`,
        tap: `lt${gi}n${ni}`,
        bridge: `lb${segIndex.get(n.segment)}`,
      };
    });
    const dir = path.join(runDir, g.name);
    guests.set(g.name, {
      spec: g,
      index: gi,
      nics,
      dir,
      console: path.join(dir, 'console.log'),
      agentSock: path.join(sockDir, `${g.name}.agent.sock`),
      qmpSock: path.join(sockDir, `${g.name}.qmp.sock`),
      pidFile: path.join(dir, 'qemu.pid'),
      disk: g.persistent ? path.join(dir, 'disk.img') : null,
      disks: (g.disks ?? []).map((d, di) => ({
        ...d,
        // a cached disk keeps the label it was made with: name it after its content
        label: d.from
          ? `lc${d.from.replace(/[^A-Za-z0-9]+/g, '-')}`.slice(0, 16)
          : `lab${gi}d${di}`,
        file: d.from
          ? path.join(CACHE_DIR, `disk${d.from.replace(/[^A-Za-z0-9]+/g, '-')}.img`)
          : path.join(dir, `disk${di}.img`),
      })),
      proc: null,
      exited: null,
      channel: null,
      bootId: null,
      state: 'off',
    });
  });

  const owner = {
    pid: process.pid,
    netns,
    qemuPidFiles: [...guests.values()].map((g) => g.pidFile),
  };
  fs.writeFileSync(path.join(runDir, 'owner.json'), JSON.stringify(owner));

  let netnsMade = false;
  let destroyed = false;

  function guest(name) {
    const g = guests.get(name);
    if (!g) throw new Error(`no guest ${name}`);
    return g;
  }

  function makeNetwork() {
    host(['ip', 'netns', 'add', netns]);
    netnsMade = true;
    const ipn = (...a) => host(['ip', '-n', netns, ...a]);
    ipn('link', 'set', 'lo', 'up');
    for (const [seg, i] of segIndex) {
      ipn('link', 'add', `lb${i}`, 'type', 'bridge', 'stp_state', '0', 'mcast_snooping', '0');
      ipn('link', 'set', `lb${i}`, 'alias', seg);
      ipn('link', 'set', `lb${i}`, 'up');
    }
    for (const g of guests.values()) {
      for (const n of g.nics) {
        ipn('tuntap', 'add', 'dev', n.tap, 'mode', 'tap');
        ipn('link', 'set', n.tap, 'master', n.bridge);
        ipn('link', 'set', n.tap, 'up');
      }
    }
  }

  /** The overlay seed + setup.sh that the initramfs runs before switch_root. */
  function writeGuestFiles(g) {
    fs.mkdirSync(g.dir, { recursive: true });
    const seed = path.join(g.dir, 'overlay');
    fs.rmSync(seed, { recursive: true, force: true });
    const put = (rel, content, mode = 0o644) => {
      const p = path.join(seed, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content, { mode });
    };
    put('etc/hostname', `${g.spec.name}\n`);
    put('etc/machine-id', `${randomBytes(16).toString('hex')}\n`);
    for (const n of g.nics) {
      put(
        `etc/systemd/network/10-lab-${n.name}.link`,
        `# lvs-setup lab: the NIC with this MAC is ${n.name}, as the lab file names it\n` +
          `[Match]\nMACAddress=${n.mac}\n\n[Link]\nName=${n.name}\n`,
      );
    }
    put(
      'etc/systemd/system/lab-agent.service',
      `[Unit]\nDescription=lvs-setup lab agent (test/lab/agent.mjs)\n\n` +
        `[Service]\nExecStart=/usr/bin/node ${AGENT} lab.agent\nRestart=always\nRestartSec=1\n` +
        `Environment=HOME=/root LANG=C.UTF-8\n\n[Install]\nWantedBy=multi-user.target\n`,
    );
    fs.mkdirSync(path.join(seed, 'etc/systemd/system/multi-user.target.wants'), {
      recursive: true,
    });
    fs.symlinkSync(
      '/etc/systemd/system/lab-agent.service',
      path.join(seed, 'etc/systemd/system/multi-user.target.wants/lab-agent.service'),
    );
    const extra = (process.env.LAB_MASK ?? '').split(',').filter(Boolean);
    const unmask = new Set(g.spec.unmask ?? []);
    for (const unit of new Set([...DEFAULT_MASKED_UNITS, ...extra, ...(g.spec.mask ?? [])])) {
      if (!unmask.has(unit))
        fs.symlinkSync('/dev/null', path.join(seed, 'etc/systemd/system', unit));
    }
    fs.mkdirSync(path.join(seed, 'etc/systemd/system-generators'), { recursive: true });
    for (const gen of DEFAULT_MASKED_GENERATORS) {
      fs.symlinkSync('/dev/null', path.join(seed, 'etc/systemd/system-generators', gen));
    }
    put('etc/systemd/journald.conf.d/lab.conf', '[Journal]\nStorage=volatile\n');
    // The guest's /tmp is this machine's /tmp under its overlay. systemd-tmpfiles-setup empties
    // it at boot (tmp.conf: `D /tmp`), walking every file there over 9p and whiting each out: with
    // a checkout in /tmp (node_modules, the lab cache) that took 3.5 min and no guest came up in
    // time. The same name in /etc overrides the packaged file: /tmp is made, not emptied.
    put(
      'etc/tmpfiles.d/tmp.conf',
      "# lvs-setup lab: do not empty /tmp at boot (it is the host's, read through 9p)\n" +
        'd /tmp 1777 root root -\n',
    );
    // udev stays (systemd-networkd needs it to see links as initialised), but coldplug only
    // the devices that matter here: replaying every PCI/ACPI/input device costs ~15 s of CPU.
    put(
      'etc/systemd/system/systemd-udev-trigger.service.d/lab.conf',
      '[Service]\nExecStart=\n' +
        'ExecStart=-udevadm trigger --type=devices --action=add --subsystem-match=net ' +
        '--subsystem-match=block --subsystem-match=virtio-ports --subsystem-match=tty\n',
    );
    if (g.disks.length) {
      put(
        'etc/fstab',
        "# lvs-setup lab: this guest's disks (test/lab/harness.mjs)\n" +
          g.disks
            .map(
              (d) =>
                `LABEL=${d.label} ${d.mount} ext4 defaults,nofail,x-systemd.device-timeout=20s 0 0\n`,
            )
            .join(''),
      );
    }
    for (const [p, content] of Object.entries(g.spec.files ?? {})) {
      put(p.replace(/^\/+/, ''), content);
    }
    const renames = g.nics
      .map(
        (n) =>
          `  ${n.mac}) [ "$dev" = ${n.name} ] || ip link set "$dev" name ${n.name}; found=$((found+1)) ;;`,
      )
      .join('\n');
    const services = g.spec.services ?? 'disabled';
    if (!['disabled', 'as-installed'].includes(services)) {
      throw new Error(`${g.spec.name}: services must be 'disabled' or 'as-installed'`);
    }
    const disable = [...(services === 'disabled' ? LAB_SERVICES : []), ...(g.spec.disable ?? [])];
    const disables = [
      ...disable.map((u) => `  rm -f "$ROOT"/etc/systemd/system/*.wants/${shq(u)}`),
      ...(services === 'disabled' ? LAB_SYSV_SERVICES : []).map(
        // as Debian's `update-rc.d NAME disable` leaves it: the start links become K links
        // (deleting them would leave a state `systemctl enable` cannot repair)
        (u) =>
          `  for f in "$ROOT"/etc/rc[2345].d/S[0-9][0-9]${shq(u)}; do ` +
          `if [ -L "$f" ]; then mv "$f" "\${f%/*}/K01"${shq(u)}; fi; done`,
      ),
    ].join('\n');
    const setup = `#!/bin/sh
# Written by test/lab/harness.mjs; run by the lab initramfs with ROOT=/newroot LOWER=/lower.
set -e
# 1. NIC names by MAC (every boot): the product must see the names the lab file uses.
i=0
while :; do
  found=0
  for d in /sys/class/net/*; do
    dev=\${d##*/}
    case "$(cat "$d/address")" in
${renames}
    esac
  done
  [ "$found" -ge ${g.nics.length} ] && break
  i=$((i+1)); [ "$i" -lt 100 ] || { echo "[lab-init] NICs missing" >/dev/console; exit 1; }
  sleep 0.1
done
# 2. Seed the overlay once (a persistent guest keeps what the product changed across reboots).
if [ ! -e "$ROOT/var/lib/lvs-lab-seeded" ]; then
  cp -a "$LOWER${seed}/." "$ROOT/"
${disables}
  mkdir -p "$ROOT/var/lib" && date > "$ROOT/var/lib/lvs-lab-seeded"
fi
# 3. This machine's root may carry container markers (/.dockerenv): in the guest, systemd and
#    systemd-detect-virt would believe they run in a container. The guest is a VM.
rm -f "$ROOT/.dockerenv" "$ROOT/run/.containerenv"
hostname ${shq(g.spec.name)}
`;
    fs.writeFileSync(path.join(g.dir, 'setup.sh'), setup, { mode: 0o755 });
    if (g.disk && !fs.existsSync(g.disk)) {
      const mib = g.spec.diskMiB ?? 2048;
      fs.closeSync(fs.openSync(g.disk, 'w'));
      fs.truncateSync(g.disk, mib * 1024 * 1024);
      host(['mkfs.ext4', '-q', '-F', '-L', `lab-${g.spec.name}`, g.disk]);
    }
    for (const d of g.disks) makeDisk(d);
  }

  function makeDisk(d) {
    if (d.from && fs.existsSync(d.file)) return; // cached; attached copy-on-write
    const tmp = `${d.file}.${process.pid}.tmp`;
    let mib = d.mib ?? 32;
    if (d.from) {
      const kib = Number(host(['du', '-sk', d.from]).stdout.split(/\s/)[0]);
      mib = Math.ceil((kib * 1.4) / 1024) + 64;
    }
    fs.closeSync(fs.openSync(tmp, 'w'));
    fs.truncateSync(tmp, mib * 1024 * 1024);
    host(['mkfs.ext4', '-q', '-F', '-L', d.label, ...(d.from ? ['-d', d.from] : []), tmp], {
      timeoutMs: 10 * 60 * 1000,
    });
    fs.renameSync(tmp, d.file);
  }

  function qemuArgs(g) {
    const append = [
      'console=ttyS0,115200',
      'panic=-1',
      'loglevel=4',
      `lab.dir=${g.dir}`,
      `lab.modules=${assets.MODULES}`,
      g.disk ? 'lab.persist=1' : '',
      'systemd.show_status=1',
      'systemd.log_color=0',
      g.spec.append ?? '',
      process.env.LAB_APPEND ?? '',
    ]
      .filter(Boolean)
      .join(' ');
    const a = [
      'qemu-system-x86_64',
      '-name',
      `lvslab-${g.spec.name}`,
      '-machine',
      'q35',
      '-accel',
      'tcg',
      '-cpu',
      // x86-64-v2 without the extras of 'max' (AVX, SVM...): ~25% less CPU to boot under TCG.
      g.spec.cpu ?? process.env.LAB_CPU ?? 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt',
      '-smp',
      '1',
      '-m',
      String(g.spec.memMiB ?? 768),
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-nic',
      'none',
      '-kernel',
      assets.VMLINUZ,
      '-initrd',
      assets.INITRD,
      '-append',
      append,
      '-chardev',
      `file,id=con,path=${g.console},append=on`,
      '-serial',
      'chardev:con',
      '-virtfs',
      'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
      '-device',
      'virtio-serial-pci',
      '-chardev',
      `socket,id=agent,path=${g.agentSock},server=on,wait=off`,
      '-device',
      'virtserialport,chardev=agent,name=lab.agent',
      '-qmp',
      `unix:${g.qmpSock},server=on,wait=off`,
      '-pidfile',
      g.pidFile,
    ];
    g.nics.forEach((n, i) => {
      a.push('-netdev', `tap,id=n${i},ifname=${n.tap},script=no,downscript=no`);
      a.push('-device', `virtio-net-pci,netdev=n${i},mac=${n.mac}`);
    });
    if (g.disk) a.push('-drive', `file=${g.disk},if=virtio,format=raw,cache=unsafe`);
    for (const d of g.disks) {
      a.push(
        '-drive',
        `file=${d.file},if=virtio,format=raw,cache=unsafe${d.from ? ',snapshot=on' : ''}`,
      );
    }
    return a;
  }

  function qemuCpuSeconds(g) {
    try {
      const f = fs.readFileSync(`/proc/${g.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks
    } catch {
      return null;
    }
  }

  async function waitAgent(g, deadline, notBootId) {
    while (Date.now() < deadline) {
      if (g.exited) {
        throw new Error(`${g.spec.name}: qemu exited (${g.exited}) during boot; see ${g.console}`);
      }
      try {
        const r = await g.channel.request({ op: 'ping' }, 2000);
        if (r.ok && r.bootId !== notBootId) {
          g.bootId = r.bootId;
          return r;
        }
      } catch {
        /* not up yet */
      }
      await sleep(500);
    }
    throw new Error(`${g.spec.name}: agent not up before the deadline; see ${g.console}`);
  }

  async function waitBooted(g, deadline, t0, notBootId) {
    await waitAgent(g, deadline, notBootId);
    const agentS = (Date.now() - t0) / 1000;
    const left = Math.max(1000, deadline - Date.now());
    const r = await exec(g.spec.name, ['systemctl', 'is-system-running', '--wait'], {
      timeoutMs: left,
    });
    const state = r.stdout.trim();
    let failed = '';
    if (state !== 'running') {
      const f = await exec(g.spec.name, ['systemctl', '--failed', '--no-legend', '--plain']);
      failed = f.stdout.trim();
    }
    g.state = 'running';
    return { agentS, bootS: (Date.now() - t0) / 1000, cpuS: qemuCpuSeconds(g), state, failed };
  }

  async function powerOn(name, { timeoutMs = bootTimeoutMs, prepared = false } = {}) {
    const g = guest(name);
    if (g.proc && !g.exited) throw new Error(`${name} is already on`);
    if (!netnsMade) makeNetwork();
    if (!prepared) writeGuestFiles(g);
    fs.rmSync(g.agentSock, { force: true });
    fs.rmSync(g.qmpSock, { force: true });
    const t0 = Date.now();
    const deadline = t0 + timeoutMs;
    const qemuLog = fs.openSync(path.join(g.dir, 'qemu.log'), 'a');
    g.exited = null;
    g.state = 'booting';
    g.proc = spawn('ip', ['netns', 'exec', netns, ...qemuArgs(g)], {
      stdio: ['ignore', qemuLog, qemuLog],
    });
    fs.closeSync(qemuLog);
    g.exitPromise = new Promise((resolve) => {
      g.proc.on('exit', (code, sig) => {
        g.exited = sig ?? `code ${code}`;
        g.state = 'off';
        g.channel?.close();
        resolve();
      });
    });
    g.channel = new AgentChannel(g.agentSock, name);
    await g.channel.connect(Math.min(deadline, Date.now() + 30000));
    const r = await waitBooted(g, deadline, t0, null);
    log(
      `${name}: agent after ${r.agentS.toFixed(1)} s, ${r.state} after ${r.bootS.toFixed(1)} s ` +
        `(qemu used ${r.cpuS} s of CPU)`,
    );
    if (r.failed) log(`${name}: failed units: ${r.failed.replace(/\n/g, '; ')}`);
    return r;
  }

  async function exec(name, argv, opts = {}) {
    const g = guest(name);
    if (!g.channel?.sock) throw new Error(`${name} is not running`);
    const timeoutMs = opts.timeoutMs ?? 60000;
    const res = await g.channel.request(
      { op: 'exec', argv, timeoutMs, input: opts.input, env: opts.env, cwd: opts.cwd },
      timeoutMs + 15000,
    );
    if (!res.ok) throw new Error(`${name}: exec ${argv.join(' ')}: ${res.error}`);
    const out = {
      code: res.code,
      signal: res.signal,
      stdout: res.stdout,
      stderr: res.stderr,
      timedOut: res.timedOut,
      ms: res.ms,
    };
    if (opts.check && (res.code !== 0 || res.timedOut)) {
      const e = new Error(
        `${name}: ${argv.join(' ')} -> ${res.timedOut ? 'timed out' : `exit ${res.code}`}\n` +
          `${res.stdout}${res.stderr}`.trim(),
      );
      e.result = out;
      throw e;
    }
    return out;
  }

  const lab = {
    runDir,
    logsDir: runDir,
    netns,
    guests: [...guests.keys()],

    /** Boots every guest in parallel; resolves to {name: {agentS, bootS, state, failed}}. */
    async start({ timeoutMs = bootTimeoutMs } = {}) {
      makeNetwork();
      const names = [...guests.keys()];
      // every guest's files and disks first: making a disk blocks (mkfs), and a guest already
      // started meanwhile would miss its agent's connection deadline
      for (const n of names) writeGuestFiles(guest(n));
      const results = await Promise.allSettled(
        names.map((n) => powerOn(n, { timeoutMs, prepared: true })),
      );
      const bad = results.filter((r) => r.status === 'rejected');
      if (bad.length) throw new Error(bad.map((r) => r.reason.message).join('\n'));
      return Object.fromEntries(names.map((n, i) => [n, results[i].value]));
    },

    /** Boots one guest (again, after powerOff); a persistent guest keeps its disk. */
    powerOn,

    /** Runs argv in the guest. opts: timeoutMs (default 60000; the process group is killed
     * then, result.timedOut), input (stdin string), env, cwd, check (throw unless exit 0).
     * Resolves to {code, signal, stdout, stderr, timedOut, ms}. */
    exec,

    /** exec(['sh', '-c', script]). */
    sh(name, script, opts) {
      return exec(name, ['sh', '-c', script], opts);
    },

    async readFile(name, p) {
      const g = guest(name);
      const r = await g.channel.request({ op: 'read', path: p }, 30000);
      if (!r.ok) throw new Error(`${name}: read ${p}: ${r.error}`);
      return Buffer.from(r.data, 'base64');
    },

    async writeFile(name, p, data, { mode = 0o644 } = {}) {
      const g = guest(name);
      const r = await g.channel.request(
        { op: 'write', path: p, data: Buffer.from(data).toString('base64'), mode },
        30000,
      );
      if (!r.ok) throw new Error(`${name}: write ${p}: ${r.error}`);
    },

    /** Copies a guest file into this run's folder (or hostPath); returns the host path. */
    async copyOut(name, p, hostPath) {
      const dest = hostPath ?? path.join(guest(name).dir, 'files', p.replace(/^\/+/, ''));
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, await lab.readFile(name, p));
      return dest;
    },

    /** Pulls the plug: SIGKILL to qemu (no shutdown in the guest). Resolves once it is gone. */
    async powerOff(name) {
      const g = guest(name);
      if (!g.proc || g.exited) return;
      g.proc.kill('SIGKILL');
      await Promise.race([g.exitPromise, sleep(10000)]);
    },

    /** Reboots a guest and waits until it is up again (new boot id). hard: reset the machine
     * through QMP (like the reset button); otherwise `systemctl reboot` in the guest.
     * Resolves to {agentS, bootS, state, failed}. A tmpfs guest comes back fresh; a persistent
     * one keeps its overlay. */
    async reboot(name, { hard = false, timeoutMs = bootTimeoutMs } = {}) {
      const g = guest(name);
      const old = g.bootId;
      const t0 = Date.now();
      g.state = 'booting';
      if (hard) await qmp(g.qmpSock, 'system_reset');
      else {
        // The reboot starts a second later from a transient timer, so the agent answers before
        // systemd stops it (a plain `systemctl reboot --no-block` raced the answer: CI once
        // waited 25 s for a reply the stopped agent never sent). If the answer is lost anyway,
        // the new boot id below is what counts.
        try {
          await exec(
            name,
            ['systemd-run', '--no-block', '--on-active=1', '--', 'systemctl', 'reboot'],
            { timeoutMs: 10000, check: true },
          );
        } catch (e) {
          if (!/no answer|guest is gone/.test(String(e.message))) throw e;
          log(`${name}: ${e.message} (the reboot had begun); waiting for the new boot`);
        }
      }
      const r = await waitBooted(g, t0 + timeoutMs, t0, old);
      log(`${name}: rebooted, ${r.state} after ${r.bootS.toFixed(1)} s`);
      return r;
    },

    /** MAC address of a guest NIC (by its in-guest name). */
    mac(name, nic) {
      return guest(name).nics.find((n) => n.name === nic)?.mac;
    },

    /** Is the guest's qemu running? */
    isOn(name) {
      const g = guest(name);
      return Boolean(g.proc && !g.exited);
    },

    /** Saves each running guest's journal, ip addr, ipvsadm and failed units into its folder. */
    async collectLogs() {
      await Promise.all(
        [...guests.values()]
          .filter((g) => g.channel?.sock)
          .map(async (g) => {
            const dump = async (file, argv) => {
              try {
                const r = await exec(g.spec.name, argv, { timeoutMs: 30000 });
                fs.writeFileSync(path.join(g.dir, file), r.stdout + r.stderr);
              } catch (e) {
                fs.writeFileSync(path.join(g.dir, file), String(e));
              }
            };
            await dump('journal.txt', ['journalctl', '-b', '--no-pager', '-o', 'short-monotonic']);
            await dump('state.txt', [
              'sh',
              '-c',
              'ip addr; ip route; ipvsadm -Ln --stats 2>&1; iptables -t nat -S 2>&1; ' +
                'systemctl --failed --no-pager',
            ]);
            // lvs-setup's own record of what it ran (the first thing to read when an apply fails)
            await dump('lvs-setup.log', ['sh', '-c', 'cat /var/lib/lvs-setup/lvs-setup.log 2>&1']);
            await dump('journal.json', ['sh', '-c', 'cat /var/lib/lvs-setup/journal.json 2>&1']);
          }),
      );
    },

    /** Stops every guest (SIGTERM, then SIGKILL), deletes the namespace. keep: keep consoles
     * and logs under runDir (disk images are always deleted); otherwise runDir goes too. */
    async destroy({ keep = false } = {}) {
      if (destroyed) return;
      destroyed = true;
      for (const g of guests.values()) {
        g.channel?.close();
        if (g.proc && !g.exited) g.proc.kill('SIGTERM');
      }
      await Promise.all(
        [...guests.values()].map(async (g) => {
          if (!g.proc || g.exited) return;
          await Promise.race([g.exitPromise, sleep(3000)]);
          if (!g.exited) {
            g.proc.kill('SIGKILL');
            await Promise.race([g.exitPromise, sleep(5000)]);
          }
        }),
      );
      lab.destroySync({ keep });
    },

    /** Synchronous teardown for signal/exit paths. */
    destroySync({ keep = true } = {}) {
      destroyed = true;
      for (const g of guests.values()) {
        if (g.proc && !g.exited) {
          try {
            g.proc.kill('SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      if (netnsMade) {
        host(['ip', 'netns', 'del', netns], { allowFail: true });
        netnsMade = false;
      }
      for (const g of guests.values()) {
        if (g.disk) fs.rmSync(g.disk, { force: true });
        fs.rmSync(g.agentSock, { force: true });
        fs.rmSync(g.qmpSock, { force: true });
      }
      if (sockDir !== runDir) fs.rmSync(sockDir, { recursive: true, force: true });
      try {
        fs.writeFileSync(path.join(runDir, 'owner.json'), JSON.stringify({ ...owner, done: true }));
      } catch {
        /* runDir gone */
      }
      if (!keep) fs.rmSync(runDir, { recursive: true, force: true });
      live.delete(lab);
    },
  };

  /** lab.guest(name).exec(argv, opts) etc.: the same calls bound to one guest. */
  lab.guest = (name) => {
    guest(name);
    return {
      name,
      exec: (argv, o) => lab.exec(name, argv, o),
      sh: (s, o) => lab.sh(name, s, o),
      readFile: (p) => lab.readFile(name, p),
      writeFile: (p, d, o) => lab.writeFile(name, p, d, o),
      copyOut: (p, h) => lab.copyOut(name, p, h),
      powerOff: () => lab.powerOff(name),
      powerOn: (o) => lab.powerOn(name, o),
      reboot: (o) => lab.reboot(name, o),
      mac: (nic) => lab.mac(name, nic),
    };
  };

  live.add(lab);
  return lab;
}

/** createLab + start + fn(lab) + destroy, always. Keeps the run folder when fn throws (and
 * saves the guests' journals there first). */
export async function withLab(spec, fn) {
  const lab = createLab(spec);
  let ok = false;
  try {
    const boot = await lab.start();
    const r = await fn(lab, boot);
    ok = true;
    return r;
  } catch (err) {
    await lab.collectLogs().catch(() => {});
    log(`failed; consoles and logs kept in ${lab.runDir}`);
    throw err;
  } finally {
    await lab.destroy({ keep: !ok });
  }
}
