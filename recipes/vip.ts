import type { HostFacts } from '../source/facts/types.js';
import { change, cmd, ok, type CommandAction, type Step } from '../source/plan/step.js';
import type { PlanContext, Recipe } from './context.js';
import {
  addressedNics,
  hostVips,
  nicAddresses,
  type HostVip,
  type OwnAddressVip,
} from './network-model.js';
import {
  ifcfgAlias,
  ifcfgPath,
  ifcfgTunl0,
  ifupdownVipPath,
  ifupdownVips,
  netplanVipPath,
  netplanVips,
  networkdPath,
  networkdVipDropin,
  networkdVipDropinPath,
  networkdVirtual,
  vipUnit,
  vipUnitName,
} from './network-render.js';
import { filesStep, unitStep } from './network-units.js';
import { header, nmProfile } from './network.js';
import { ipAddrDel, ipLinkDown } from './inverses.js';

/**
 * The virtual IP (VIP) as an extra /32 address: on the director's interface in the VIP's subnet
 * (`ens33:0`, as the seed's `ifconfig ens33:0 … netmask 255.255.255.255`), on `lo` of DR real
 * servers, on `tunl0` of TUN real servers. HA directors get none: keepalived owns their VIP.
 * Runs after the sysctl recipe, so a DR real server hides the VIP from ARP before it has it.
 */

const RECIPE = 'vip';

const NO_HOST_ROUTE =
  'The seed also runs `route add -host VIP dev …`; that is not needed: adding an address makes the kernel add a local route for it itself (`ip route show table local`), and a /32 adds no subnet route that could compete with the interface’s own.';

function why(v: HostVip): string {
  switch (v.kind) {
    case 'director':
      return `Clients connect to ${v.vip} (${v.services.join(', ')}), so the director must own it: a /32 alias on ${v.dev}, the interface in the VIP's subnet${v.label ? `, labelled ${v.label} like the seed's ifconfig alias` : ''}. IPVS then takes the packets addressed to it. ${NO_HOST_ROUTE} A gratuitous ARP (arping -U, skipped when arping is not installed) tells the neighbours' caches the VIP now lives at this MAC.`;
    case 'dr':
      return `DR: the director forwards each request to this server's MAC with the destination address still ${v.vip}, so this server must own the VIP to accept it. On lo, as a /32, it is never announced: the arp_ignore/arp_announce settings (applied just before) keep it out of ARP, so only the director answers for the VIP. ${NO_HOST_ROUTE}`;
    case 'tun':
      return `TUN: the director wraps each request in an IP-in-IP packet addressed to this server; tunl0 (created when the ipip module loads) unwraps it, and the inner packet, addressed to ${v.vip}, is accepted only if the VIP is a local address — a /32 on tunl0. ${NO_HOST_ROUTE}`;
  }
}

function runtimeStep(v: HostVip): Step {
  const cidr = `${v.vip}/32`;
  return {
    id: `vip:${v.dev}:${v.vip}`,
    recipe: RECIPE,
    title: `Add VIP ${cidr} to ${v.dev}${v.label ? ` as ${v.label}` : ''}`,
    explain: why(v),
    decide(facts) {
      const have = nicAddresses(facts, v.dev);
      if (have.some((a) => a.address === v.vip && a.prefix === 32)) {
        return ok(`${v.dev} has ${cidr}`);
      }
      const other = have.find((a) => a.address === v.vip);
      const missing = !facts.nics.some((n) => n.name === v.dev);
      const actions: CommandAction[] = [
        cmd(['ip', 'addr', 'add', cidr, 'dev', v.dev, ...(v.label ? ['label', v.label] : [])], {
          inverse: [ipAddrDel(cidr, v.dev)],
        }),
      ];
      if (v.kind === 'director') {
        // Optional: exit 127 = arping is not installed; 1 = no reply, which -U does not expect.
        actions.push(
          cmd(['arping', '-U', '-c', '2', '-I', v.dev, v.vip], {
            okExitCodes: [0, 1, 2, 127],
            timeoutMs: 15_000,
          }),
        );
      }
      return change(
        missing
          ? `${v.dev} does not exist yet${v.dev === 'tunl0' ? ' (it appears when the ipip module loads)' : ''}`
          : other
            ? `${v.dev} has ${v.vip}/${other.prefix}, not /32`
            : `${v.dev} does not have ${cidr}`,
        actions,
      );
    },
  };
}

function ownAddressStep(o: OwnAddressVip, cidr: string): Step {
  return {
    id: `vip:${o.nic}:${o.vip}`,
    recipe: RECIPE,
    title: `VIP ${o.vip} on ${o.nic}`,
    explain: `The lab uses the director's own address as the VIP of ${o.services.join(', ')} (as the seed's NAT lab does with 192.168.91.141), so no alias is needed: the network step already gives ${o.nic} ${cidr}, and IPVS takes the packets for the service's port.`,
    decide: () => ok("the VIP is this interface's own address"),
  };
}

function tunl0UpStep(): Step {
  return {
    id: 'vip:tunl0:up',
    recipe: RECIPE,
    title: 'Bring tunl0 up',
    explain:
      'tunl0 exists once ipip is loaded but starts down; a down interface receives nothing, so the tunnelled requests would be dropped.',
    decide(facts) {
      const n = facts.nics.find((x) => x.name === 'tunl0');
      if (n && (n.state === 'UP' || n.state === 'UNKNOWN')) return ok('tunl0 is up');
      return change(
        n ? `tunl0 is ${n.state.toLowerCase()}` : 'tunl0 does not exist yet (ipip loads it)',
        [
          cmd(['ip', 'link', 'set', 'tunl0', 'up'], {
            inverse: [ipLinkDown('tunl0')],
          }),
        ],
      );
    },
  };
}

// ------------------------------------------------------------------ persistence, per device

function unitPersist(ctx: PlanContext, dev: string, vips: HostVip[], reason: string): Step {
  const name = vipUnitName(dev);
  return unitStep({
    id: `vip:${dev}:persist`,
    recipe: RECIPE,
    name,
    content: vipUnit(dev, vips, header(ctx, `VIPs on ${dev} at boot`)),
    title: `Install ${name} (VIPs on ${dev} at boot)`,
    explain: `${reason} A small oneshot unit adds the /32 at boot instead: after modules load (tunl0 exists) and after the sysctls are applied (a DR real server hides the VIP from ARP before it has it), before the network comes up. It is enabled, not started: the VIP is already live.`,
  });
}

function persistStep(ctx: PlanContext, facts: HostFacts, dev: string, vips: HostVip[]): Step {
  const id = `vip:${dev}:persist`;
  const list = vips.map((v) => `${v.vip}/32`).join(', ');
  const director = vips.some((v) => v.kind === 'director');
  const what = `VIP${vips.length > 1 ? 's' : ''} ${list} on ${dev}`;
  const labelled = vips.every((v) => v.label !== null);
  const nic = addressedNics(ctx).find((n) => n.nic === dev);
  const reloadNetworkd = (f: HostFacts) =>
    f.services['systemd-networkd']?.active ? [cmd(['networkctl', 'reload'])] : [];
  switch (facts.networkConfig) {
    case 'ifcfg': {
      if (!labelled) {
        return unitPersist(
          ctx,
          dev,
          vips,
          `An alias name ${dev}:N would be longer than the kernel's 15 characters, so network-scripts cannot bring it up.`,
        );
      }
      const files = vips.map((v) => ({
        path: ifcfgPath(v.label ?? dev),
        content: () =>
          ifcfgAlias(v.label ?? dev, v.vip, header(ctx, `VIP ${v.vip} (${v.services.join(', ')})`)),
      }));
      if (dev === 'tunl0') {
        files.unshift({
          path: ifcfgPath('tunl0'),
          content: () => ifcfgTunl0(header(ctx, 'bring tunl0 up at boot for its VIP aliases')),
        });
      }
      return filesStep({
        id,
        recipe: RECIPE,
        title: `Write ${files.map((f) => f.path).join(', ')} (${what} survive${vips.length > 1 ? '' : 's'} a reboot)`,
        explain: `CentOS 7's network-scripts bring alias files (ifcfg-${vips[0]?.label ?? dev}) up together with their parent interface, as the seed's ifconfig alias did by hand: IPADDR=VIP, NETMASK=255.255.255.255.${dev === 'tunl0' ? ' ifcfg-tunl0 brings the tunnel itself up (NM_CONTROLLED=no keeps NetworkManager off it); ipip is loaded earlier at boot by modules-load.d.' : ''}`,
        files,
        after: (f) =>
          f.services.NetworkManager?.active ? [cmd(['nmcli', 'connection', 'reload'])] : [],
      });
    }
    case 'networkmanager':
      if (director && nic) {
        return filesStep({
          id,
          recipe: RECIPE,
          title: `Keep ${what} in NetworkManager profile of ${dev}`,
          explain: `NetworkManager activates one profile per interface, so the VIP is a secondary address (ipv4.addresses) of the same profile the network step writes for ${dev}; this step only checks that profile holds it.`,
          ...nmProfile(ctx, nic),
        });
      }
      return unitPersist(
        ctx,
        dev,
        vips,
        `NetworkManager cannot describe ${dev === 'lo' ? 'lo (only 1.42 and later manage loopback)' : dev === 'tunl0' ? "the kernel's own tunl0" : dev} everywhere lvs-setup runs.`,
      );
    case 'ifupdown':
      if (!labelled) {
        return unitPersist(
          ctx,
          dev,
          vips,
          `An alias name ${dev}:N would be longer than the kernel's 15 characters, so ifupdown cannot hold the VIP as an alias stanza.`,
        );
      }
      return filesStep({
        id,
        recipe: RECIPE,
        title: `Write ${ifupdownVipPath(dev)} (${what} at boot)`,
        explain: `ifupdown brings up alias stanzas (\`auto ${vips[0]?.label ?? dev}\` / \`iface ${vips[0]?.label ?? dev} inet static\`, address VIP/32) after the interface itself; /etc/network/interfaces sources this directory (the network step makes sure of it${dev === 'lo' || dev === 'tunl0' ? '; for lo and tunl0 nothing else needs changing' : ''}).`,
        files: [
          { path: ifupdownVipPath(dev), content: () => ifupdownVips(vips, header(ctx, what)) },
        ],
      });
    case 'netplan':
      if (director && nic) {
        return filesStep({
          id,
          recipe: RECIPE,
          title: `Write ${netplanVipPath(dev)} (${what} at boot)`,
          explain: `netplan appends list values across files, so this file adds the VIP to ${dev}'s addresses from 60-lvs-setup.yaml (no label: netplan supports address labels only with networkd). \`netplan generate\` renders it for the next boot without touching the live interface.`,
          files: [
            {
              path: netplanVipPath(dev),
              mode: 0o600,
              content: () => netplanVips(dev, vips, header(ctx, what)),
            },
          ],
          after: () => [cmd(['netplan', 'generate'])],
        });
      }
      return unitPersist(
        ctx,
        dev,
        vips,
        `netplan has no reliable way to describe ${dev === 'tunl0' ? "the kernel's own tunl0" : dev} for every renderer (NetworkManager cannot take loopback addresses from it).`,
      );
    case 'networkd':
      if (director && nic) {
        return filesStep({
          id,
          recipe: RECIPE,
          title: `Write ${networkdVipDropinPath(dev)} (${what} at boot)`,
          explain: `systemd-networkd uses only the first .network file that matches ${dev}, so the VIP is an [Address] section in a drop-in of the network step's ${networkdPath(dev)}, labelled as the seed does.`,
          files: [
            {
              path: networkdVipDropinPath(dev),
              content: () => networkdVipDropin(vips, header(ctx, what)),
            },
          ],
          after: reloadNetworkd,
        });
      }
      return filesStep({
        id,
        recipe: RECIPE,
        title: `Write ${networkdPath(dev)} (${what} at boot)`,
        explain: `systemd-networkd adds the /32 to ${dev} at boot from this .network file. RequiredForOnline=no: boot does not wait for ${dev}; KeepConfiguration=static: networkd keeps addresses others add.`,
        files: [
          { path: networkdPath(dev), content: () => networkdVirtual(dev, vips, header(ctx, what)) },
        ],
        after: reloadNetworkd,
      });
    case 'none':
      return {
        id,
        recipe: RECIPE,
        title: `Keep ${what} across reboots`,
        explain:
          'WARNING: lvs-setup found no network configuration system it knows on this host, so the VIP lasts until the next reboot. Run lvs-setup again after booting.',
        decide: () => ok('not persistent: no known network configuration system (runtime only)'),
      };
  }
}

export const vipRecipe: Recipe = (ctx, facts) => {
  const { aliases, own } = hostVips(ctx);
  const steps: Step[] = [];
  for (const o of own) {
    const nic = addressedNics(ctx).find((n) => n.nic === o.nic);
    steps.push(ownAddressStep(o, nic?.cidr ?? o.vip));
  }
  for (const v of aliases) steps.push(runtimeStep(v));
  if (aliases.some((v) => v.dev === 'tunl0')) steps.push(tunl0UpStep());
  const devs = [...new Set(aliases.map((v) => v.dev))];
  for (const dev of devs) {
    steps.push(
      persistStep(
        ctx,
        facts,
        dev,
        aliases.filter((v) => v.dev === dev),
      ),
    );
  }
  return steps;
};
