// Harness lifecycle on the smoke lab's guests: what the later scenarios rely on.
// - a persistent guest (web1) keeps its overlay across a reboot: files, enabled services;
//   its NIC names come back, and addresses set by hand with `ip` do not (nothing persists them);
// - a hard reset (QMP system_reset) boots it again too;
// - powerOff pulls the plug at once (the director), powerOn boots it again, fresh (tmpfs overlay).
import { ipv4, waitFor } from '../lib.mjs';
import { smokeLab } from '../labs.mjs';

export default {
  name: 'harness: reboot a persistent guest, power a guest off and on',
  lab: smokeLab,
  timeoutMs: 8 * 60 * 1000,

  async run(lab, t) {
    await lab.sh('web1', 'echo kept > /etc/lab-marker && systemctl enable -q nginx', {
      check: true,
    });
    const soft = await lab.reboot('web1');
    t.figure('web1 reboot seconds', soft.bootS.toFixed(1));
    const marker = await lab.exec('web1', ['cat', '/etc/lab-marker']);
    t.assert(marker.stdout.trim() === 'kept', 'persistent overlay lost /etc/lab-marker');
    const active = await lab.exec('web1', ['systemctl', 'is-active', 'nginx']);
    t.assert(active.stdout.trim() === 'active', `nginx after reboot: ${active.stdout.trim()}`);
    t.assert((await ipv4(lab, 'web1', 'ens33')).length === 0, 'web1/ens33 kept an address');
    const page = await lab.exec('web1', ['cat', '/var/www/html/index.html']);
    t.assert(page.stdout.startsWith('server '), 'the index page written before the reboot is gone');

    const hard = await lab.reboot('web1', { hard: true });
    t.figure('web1 hard reset seconds', hard.bootS.toFixed(1));

    const t0 = Date.now();
    await lab.powerOff('lvs');
    t.assert(!lab.isOn('lvs'), 'lvs still on after powerOff');
    t.figure('powerOff ms', Date.now() - t0);
    let refused = false;
    try {
      await lab.exec('lvs', ['true']);
    } catch {
      refused = true;
    }
    t.assert(refused, 'exec on a powered-off guest did not fail');
    const on = await lab.powerOn('lvs');
    t.figure('lvs power-on seconds', on.bootS.toFixed(1));
    t.assert((await ipv4(lab, 'lvs', 'ens37')).length === 0, 'lvs came back with an address');
    const mods = await waitFor('ip_vs to load', async () => {
      const r = await lab.exec('lvs', ['sh', '-c', 'modprobe ip_vs && cat /proc/net/ip_vs']);
      return r.code === 0;
    });
    t.assert(mods.value, 'ip_vs');
    const big = await lab.exec('client', ['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x'], {
      timeoutMs: 30000,
    });
    t.assert(big.stdout.length === 3000000, `3 MB of stdout came back as ${big.stdout.length}`);
    const slow = await lab.exec('client', ['sleep', '30'], { timeoutMs: 1000 });
    t.assert(slow.timedOut && slow.code === null, 'a command past its timeout was not killed');
  },
};
