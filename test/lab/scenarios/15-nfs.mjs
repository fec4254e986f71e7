// Scenario 5 (issue 4): NFS, on the NAT lab after scenario 1 applied examples/seed-nat.yaml on
// the nfs host: the kernel exports what the lab file says; the client mounts the read-only
// export and reads from it, and a write there is refused; a write to a rw export works.
import { natLab } from '../labs.mjs';

export default {
  name: 'NFS: exports as the lab file says; client mounts and reads; ro refuses a write',
  lab: natLab,
  timeoutMs: 6 * 60 * 1000,

  async run(lab, t) {
    const ex = await lab.exec('nfs', ['exportfs', '-v'], { timeoutMs: 30000, check: true });
    t.log(ex.stdout.trim());
    const table = ex.stdout.replace(/\n\s+/g, ' ');
    const expected = [
      ['/usr/share', '<world>', 'ro'],
      ['/soft', '192.168.91.0/24', 'rw'],
      ['/program', '192.168.91.0/24', 'rw'],
      ['/data', '192.168.91.0/24', 'rw'],
    ];
    for (const [p, who, mode] of expected) {
      const line = table.split('\n').find((l) => l.startsWith(`${p} `) || l.startsWith(`${p}\t`));
      t.assert(
        line &&
          line.includes(who) &&
          /[(,](ro|rw)[,)]/.exec(line)?.[1] === mode &&
          /[(,]sync[,)]/.test(line),
        `exportfs -v: ${p} ${who}(${mode},sync) expected, got: ${line ?? 'nothing'}`,
      );
    }
    t.figure('exports', expected.map(([p, w, m]) => `${p} ${w}(${m})`).join(', '));

    // NFSv3: v4 reaches every export through the server's pseudo-root, built from / down, and
    // in a lab guest / and /usr are overlayfs over 9p, which has no NFS file handles (the server
    // answers "No such file or directory"). On a VM's real root filesystem v4 works.
    const m = await lab.sh(
      'client',
      'set -e; mkdir -p /mnt/ro /mnt/rw; ' +
        'mount -t nfs -o vers=3,soft,timeo=50 192.168.91.144:/usr/share /mnt/ro; ' +
        'mount -t nfs -o vers=3,soft,timeo=50 192.168.91.144:/data /mnt/rw; ' +
        'head -c 60 /mnt/ro/common-licenses/GPL-3 | head -1; ' +
        'if touch /mnt/ro/lab-write 2>/tmp/ro.err; then echo RO-WRITE-OK; else echo "RO-REFUSED $(cat /tmp/ro.err)"; fi; ' +
        // the rw export: no "Read-only file system"; with the seed's root_squash and root-owned
        // directories the client's root (squashed to nobody) may still be refused (EACCES)
        'if (echo hello > /mnt/rw/lab-write) 2>/tmp/rw.err; then echo RW-WRITE-OK; else echo "RW-REFUSED $(cat /tmp/rw.err)"; fi',
      { timeoutMs: 120000 },
    );
    t.log(`${m.stdout}${m.stderr}`.trim());
    t.assert(m.code === 0, `mount/read on the client failed (exit ${m.code}): ${m.stderr}`);
    t.assert(/GNU GENERAL PUBLIC LICENSE/.test(m.stdout), 'read from the ro export failed');
    t.assert(
      /RO-REFUSED .*Read-only file system/.test(m.stdout),
      'a write to the ro export was not refused',
    );
    t.figure('read from ro export (NFSv3)', 'ok');
    t.figure('write to ro export', 'refused (Read-only file system)');
    const rw = /RW-WRITE-OK|RW-REFUSED .*/.exec(m.stdout)?.[0] ?? 'nothing';
    t.assert(
      !/Read-only file system/.test(rw) && rw !== 'nothing',
      `the rw export behaves as read-only: ${rw}`,
    );
    if (rw === 'RW-WRITE-OK') {
      const back = await lab.exec('nfs', ['cat', '/data/lab-write']);
      t.assert(back.stdout.trim() === 'hello', 'the rw export did not store the client write');
    }
    t.figure(
      'write to rw export (NFSv3)',
      rw === 'RW-WRITE-OK'
        ? 'ok, seen on the server'
        : `not read-only; ${rw.replace('RW-REFUSED ', '')} (root_squash: root is nobody there)`,
    );
    await lab.sh('client', 'umount /mnt/ro /mnt/rw', { timeoutMs: 60000 });
  },
};
