import type { HostFacts } from '../source/facts/types.js';
import { change, cmd, ok, type CommandSpec, type Step } from '../source/plan/step.js';
import type { PlanContext, Recipe } from './context.js';
import { addressedNics, directorVipsOn, nicAddresses, type NicConfig } from './network-model.js';
import {
  IFUPDOWN_CLOUD_INIT,
  IFUPDOWN_MAIN,
  NETPLAN_FILE,
  ifcfgNic,
  ifcfgPath,
  ifupdownInterfaces,
  ifupdownNic,
  ifupdownNicPath,
  netplanNics,
  networkdNic,
  networkdPath,
  nmKeyfile,
  nmKeyfilePath,
  nmProfileName,
} from './network-render.js';
import { filesStep, type FilesStepOptions } from './network-units.js';
import { ipAddrDel, ipLinkDown } from './inverses.js';

/**
 * Static addresses, the default gateway and DNS servers from the lab file's `hosts.<h>.interfaces`
 * (the seed's ifcfg files and `service network restart`). Runtime first, with `ip`, so nothing is
 * restarted; then the files of the host's network configuration system, so it survives a reboot.
 * Interfaces without an address in the lab file are left alone.
 */

const RECIPE = 'network';

const SSH_NOTE =
  'If you are logged in over SSH through another address of this interface, changing its address or the default route can drop the session (the plan warns when it sees that); use the VM console then.';

export function header(ctx: PlanContext, what: string): string {
  return `Written by lvs-setup for host ${ctx.hostName} of lab ${ctx.lab.file.name}: ${what}.`;
}

function linkStep(nic: NicConfig): Step {
  return {
    id: `network:${nic.nic}:link`,
    recipe: RECIPE,
    title: `Bring ${nic.nic} up`,
    explain: 'An interface that is down has no routes and answers nothing, whatever its address.',
    decide(facts) {
      const n = facts.nics.find((x) => x.name === nic.nic);
      if (n && (n.state === 'UP' || n.state === 'UNKNOWN')) return ok(`${nic.nic} is up`);
      return change(
        n
          ? `${nic.nic} is ${n.state.toLowerCase()} (down, or without carrier)`
          : `${nic.nic} is missing`,
        [
          cmd(['ip', 'link', 'set', nic.nic, 'up'], {
            inverse: [ipLinkDown(nic.nic)],
          }),
        ],
      );
    },
  };
}

function addressStep(nic: NicConfig, persistent: boolean): Step {
  return {
    id: `network:${nic.nic}:address`,
    recipe: RECIPE,
    title: `Add ${nic.cidr} to ${nic.nic}`,
    explain: `The lab file gives ${nic.nic} the static address ${nic.cidr}; ip adds it now, without restarting the network (the seed's \`service network restart\` would drop every connection). ${persistent ? 'The next steps write it to the files read at boot.' : 'WARNING: this host has no network configuration system lvs-setup knows (ifcfg, NetworkManager, ifupdown, netplan, systemd-networkd), so the address is lost at reboot: run lvs-setup again after booting.'} ${SSH_NOTE}`,
    decide(facts) {
      const have = nicAddresses(facts, nic.nic);
      if (have.some((a) => a.address === nic.address && a.prefix === nic.prefix)) {
        return ok(`${nic.nic} has ${nic.cidr}`);
      }
      const others = have.map((a) => `${a.address}/${a.prefix}`);
      return change(
        `${nic.nic} does not have ${nic.cidr}${others.length ? ` (it has ${others.join(', ')}, left as they are until the next boot)` : ''}`,
        [
          // brd +: the subnet's broadcast address, as ifup and networkd set it.
          cmd(['ip', 'addr', 'add', nic.cidr, 'brd', '+', 'dev', nic.nic], {
            inverse: [ipAddrDel(nic.cidr, nic.nic)],
          }),
        ],
      );
    },
  };
}

function defaultRouteStep(nic: NicConfig & { gateway: string }): Step {
  return {
    id: 'network:default-route',
    recipe: RECIPE,
    title: `Route by default via ${nic.gateway} on ${nic.nic}`,
    explain: `Traffic to addresses outside the host's subnets goes to the gateway the lab file names; a NAT real server's gateway must be the director, or its replies bypass the NAT and clients drop them. \`ip route replace\` swaps the default route in one operation. ${SSH_NOTE}`,
    decide(facts) {
      const r = facts.routes;
      if (r.defaultGateway === nic.gateway && (r.defaultDev === nic.nic || r.defaultDev === null)) {
        return ok(`the default route is via ${nic.gateway} on ${nic.nic}`);
      }
      let inverse: CommandSpec[];
      if (r.defaultGateway) {
        inverse = [
          {
            argv: [
              'ip',
              'route',
              'replace',
              'default',
              'via',
              r.defaultGateway,
              ...(r.defaultDev ? ['dev', r.defaultDev] : []),
            ],
          },
        ];
      } else if (r.defaultDev) {
        inverse = [{ argv: ['ip', 'route', 'replace', 'default', 'dev', r.defaultDev] }];
      } else {
        inverse = [{ argv: ['ip', 'route', 'del', 'default', 'via', nic.gateway, 'dev', nic.nic] }];
      }
      const now = r.defaultGateway
        ? `the default route is via ${r.defaultGateway}${r.defaultDev ? ` on ${r.defaultDev}` : ''}`
        : r.defaultDev
          ? `the default route is on ${r.defaultDev} without a gateway`
          : 'there is no default route';
      return change(now, [
        cmd(['ip', 'route', 'replace', 'default', 'via', nic.gateway, 'dev', nic.nic], { inverse }),
      ]);
    },
  };
}

// ------------------------------------------------------------------ persistence, per system

function ifcfgSteps(ctx: PlanContext, nics: NicConfig[]): Step[] {
  return nics.map((nic) =>
    filesStep({
      id: `network:${nic.nic}:persist`,
      recipe: RECIPE,
      title: `Write ${ifcfgPath(nic.nic)} (the address survives a reboot)`,
      explain: `CentOS 7's network-scripts read ifcfg files at boot, as in the seed: BOOTPROTO=static, IPADDR, NETMASK${nic.gateway ? ', GATEWAY' : ''}${nic.dns.length ? ', DNS1…' : ''}. Keys lvs-setup does not manage (UUID, HWADDR, NAME…) stay as the installer wrote them; PREFIX goes because it would override NETMASK${nic.gateway ? '' : ', and GATEWAY because only one interface may hold the default route'}. Nothing is restarted: the address is already live.`,
      files: [
        {
          path: ifcfgPath(nic.nic),
          content: (cur) => ifcfgNic(cur, nic, header(ctx, `static address of ${nic.nic}`)),
        },
      ],
      // NetworkManager, when it runs beside network-scripts, reads ifcfg files only when told.
      after: (f) =>
        f.services.NetworkManager?.active ? [cmd(['nmcli', 'connection', 'reload'])] : [],
    }),
  );
}

/**
 * The NetworkManager profile of an interface: the lab's address plus the director's VIPs on it
 * (NetworkManager activates one profile per interface). The vip recipe writes the same file.
 */
export function nmProfile(
  ctx: PlanContext,
  nic: NicConfig,
): Pick<FilesStepOptions, 'files' | 'after'> {
  const path = nmKeyfilePath(nic.nic);
  const name = nmProfileName(nic.nic);
  const vips = directorVipsOn(ctx, nic.nic);
  return {
    files: [
      {
        path,
        mode: 0o600, // NetworkManager ignores keyfiles others can read
        content: () =>
          nmKeyfile(
            nic,
            vips,
            header(
              ctx,
              `static address of ${nic.nic}${vips.length ? ' and the director VIPs on it' : ''}`,
            ),
            `${ctx.lab.file.name}/${ctx.hostName}/${nic.nic}`,
          ),
      },
    ],
    after: (f) => {
      if (!f.services.NetworkManager?.active) return [];
      const fresh = (f.files[path] ?? null) === null;
      return [
        cmd(['nmcli', 'connection', 'load', path], {
          // Undo: forget a profile lvs-setup created (deleting it also removes the file).
          inverse: fresh
            ? [{ argv: ['nmcli', 'connection', 'delete', 'id', name], okExitCodes: [0, 10] }]
            : [],
        }),
      ];
    },
  };
}

function networkManagerSteps(ctx: PlanContext, nics: NicConfig[]): Step[] {
  return nics.map((nic) => {
    const vips = directorVipsOn(ctx, nic.nic);
    const name = nmProfileName(nic.nic);
    return filesStep({
      id: `network:${nic.nic}:persist`,
      recipe: RECIPE,
      title: `Write NetworkManager profile ${name} for ${nic.nic}`,
      explain: `EL 8/9 keep interfaces in NetworkManager profiles (RHEL 9 prefers keyfiles to ifcfg). lvs-setup writes its own keyfile — ipv4.method manual, ipv4.addresses ${[nic.cidr, ...vips.map((v) => `${v.vip}/32`)].join(',')}${nic.gateway ? `, ipv4.gateway ${nic.gateway}` : ''}${nic.dns.length ? `, ipv4.dns ${nic.dns.join(',')}` : ''}${vips.length ? ' (the director\u2019s VIP rides in the same profile: NetworkManager activates one profile per interface)' : ''} — and \`nmcli connection load\` makes NetworkManager read it. It is not activated now (that would reset ${nic.nic} and could drop your session): the address is already live, and the profile wins over the installer's at the next boot (autoconnect-priority=100). \`nmcli connection up ${name}\` switches at once.`,
      ...nmProfile(ctx, nic),
    });
  });
}

function ifupdownSteps(ctx: PlanContext, nics: NicConfig[]): Step[] {
  const names = nics.map((n) => n.nic);
  return [
    filesStep({
      id: 'network:ifupdown:interfaces',
      recipe: RECIPE,
      title: `Make ${IFUPDOWN_MAIN} read /etc/network/interfaces.d`,
      explain: `ifupdown reads ${IFUPDOWN_MAIN} at boot. Its IPv4 stanzas for ${names.join(', ')} (the installer's \`iface … inet dhcp\`, or cloud-init's in interfaces.d/50-cloud-init) are commented out with "#lvs-setup#" — a second \`inet\` stanza would give the interface both addresses — and a \`source /etc/network/interfaces.d/*\` line is added when missing. Everything else stays.`,
      files: [
        { path: IFUPDOWN_MAIN, content: (cur) => ifupdownInterfaces(cur, names) },
        // Debian's cloud images: the same stanza, written by cloud-init at first boot.
        {
          path: IFUPDOWN_CLOUD_INIT,
          content: (cur) =>
            cur === null ? null : ifupdownInterfaces(cur, names, { addSource: false }),
        },
      ],
    }),
    ...nics.map((nic) =>
      filesStep({
        id: `network:${nic.nic}:persist`,
        recipe: RECIPE,
        title: `Write ${ifupdownNicPath(nic.nic)} (the address survives a reboot)`,
        explain: `Debian's ifupdown brings up \`auto ${nic.nic}\` at boot with this static stanza${nic.dns.length ? '; dns-nameservers reach /etc/resolv.conf only when resolvconf (or systemd-resolved) is installed' : ''}. Nothing is restarted (ifdown/ifup would drop connections): the address is already live. A DHCP client the old stanza started keeps running until the next boot.`,
        files: [
          {
            path: ifupdownNicPath(nic.nic),
            content: () => ifupdownNic(nic, header(ctx, `static address of ${nic.nic}`)),
          },
        ],
      }),
    ),
  ];
}

function netplanSteps(ctx: PlanContext, nics: NicConfig[]): Step[] {
  return [
    filesStep({
      id: 'network:netplan',
      recipe: RECIPE,
      title: `Write ${NETPLAN_FILE} (addresses survive a reboot)`,
      explain: `Ubuntu configures interfaces from /etc/netplan/*.yaml. This file (mode 0600: netplan warns about readable files) turns DHCP off and sets the lab's addresses, default route and DNS for ${nics.map((n) => n.nic).join(', ')}. \`netplan generate\` checks it and renders the backend files for the next boot; \`netplan apply\` is not run because it restarts the interfaces and can drop your session — the addresses are already live. netplan merges files: lists append, so another file (50-cloud-init.yaml) must not give these interfaces addresses too.`,
      files: [
        {
          path: NETPLAN_FILE,
          mode: 0o600,
          content: () => netplanNics(nics, header(ctx, 'static addresses')),
        },
      ],
      after: () => [cmd(['netplan', 'generate'])],
    }),
  ];
}

function networkdSteps(ctx: PlanContext, nics: NicConfig[]): Step[] {
  return [
    ...nics.map((nic) =>
      filesStep({
        id: `network:${nic.nic}:persist`,
        recipe: RECIPE,
        title: `Write ${networkdPath(nic.nic)} (the address survives a reboot)`,
        explain: `systemd-networkd configures ${nic.nic} from the first .network file (in name order) that matches it. KeepConfiguration=static stops networkd from deleting addresses it did not add — keepalived's VIP, or a /32 added with ip — whenever it reconfigures the link.${nic.dns.length ? ' DNS= reaches /etc/resolv.conf only through systemd-resolved.' : ''} When networkd runs, \`networkctl reload\` applies the file now (the address is already there, so nothing drops).`,
        files: [
          {
            path: networkdPath(nic.nic),
            content: () => networkdNic(nic, header(ctx, `static address of ${nic.nic}`)),
          },
        ],
        after: (f) =>
          f.services['systemd-networkd']?.active ? [cmd(['networkctl', 'reload'])] : [],
      }),
    ),
    networkdEnableStep(),
  ];
}

export function networkdEnableStep(): Step {
  return {
    id: 'network:networkd:enable',
    recipe: RECIPE,
    title: 'Enable and start systemd-networkd',
    explain:
      'On a systemd host without ifupdown, netplan or NetworkManager, systemd-networkd is what applies /etc/systemd/network at boot; it must be enabled or the addresses are gone after a reboot.',
    decide(f: HostFacts) {
      const unit = f.services['systemd-networkd'];
      if (unit?.active && unit.enabled) return ok('systemd-networkd is running and enabled');
      // Undo puts it back as it was: disabled and/or stopped.
      const inverse: CommandSpec[] = [];
      if (!unit?.enabled) inverse.push({ argv: ['systemctl', 'disable', 'systemd-networkd'] });
      if (!unit?.active) inverse.push({ argv: ['systemctl', 'stop', 'systemd-networkd'] });
      return change(
        `systemd-networkd is ${unit?.active ? 'running' : 'stopped'} and ${unit?.enabled ? 'enabled' : 'disabled'}`,
        [cmd(['systemctl', 'enable', '--now', 'systemd-networkd'], { inverse })],
      );
    },
  };
}

function noneSteps(nics: NicConfig[]): Step[] {
  return nics.map((nic) => ({
    id: `network:${nic.nic}:persist`,
    recipe: RECIPE,
    title: `Keep ${nic.cidr} on ${nic.nic} across reboots`,
    explain:
      'WARNING: lvs-setup found no network configuration system it knows on this host (ifcfg, NetworkManager, ifupdown, netplan, systemd-networkd), so it cannot make the address permanent. Configure it by hand, or run lvs-setup again after each boot.',
    decide: () => ok(`not persistent: no known network configuration system (runtime only)`),
  }));
}

export function persistSteps(ctx: PlanContext, facts: HostFacts, nics: NicConfig[]): Step[] {
  switch (facts.networkConfig) {
    case 'ifcfg':
      return ifcfgSteps(ctx, nics);
    case 'networkmanager':
      return networkManagerSteps(ctx, nics);
    case 'ifupdown':
      return ifupdownSteps(ctx, nics);
    case 'netplan':
      return netplanSteps(ctx, nics);
    case 'networkd':
      return networkdSteps(ctx, nics);
    case 'none':
      return noneSteps(nics);
  }
}

export const networkRecipe: Recipe = (ctx, facts) => {
  const nics = addressedNics(ctx);
  if (nics.length === 0) return [];
  const persistent = facts.networkConfig !== 'none';
  const steps: Step[] = [];
  for (const nic of nics) steps.push(linkStep(nic), addressStep(nic, persistent));
  const gw = nics.find((n): n is NicConfig & { gateway: string } => n.gateway !== null);
  if (gw) steps.push(defaultRouteStep(gw));
  steps.push(...persistSteps(ctx, facts, nics));
  return steps;
};
