import type { Mode } from '../config/schema.js';

/**
 * What the wizard teaches on the way: each forwarding mode in two lines and a small diagram of the
 * packet path (from the seed notes' "运行模式"), and one line per role and firewall choice.
 */

export interface ModeLesson {
  title: string;
  explain: [string, string];
  diagram: string[];
}

export const MODE_LESSONS: Record<Mode, ModeLesson> = {
  nat: {
    title: 'NAT (masquerading, ipvsadm -m)',
    explain: [
      'The director rewrites each request to a real server and each reply back to the VIP.',
      'Real servers sit on a private net with the director (DIP) as their gateway; all traffic passes the director.',
    ],
    diagram: [
      'client ──▶ VIP [director] ──dst:=real server──▶ real server',
      'client ◀── VIP [director] ◀──src:=VIP───────── real server (gateway = DIP)',
    ],
  },
  dr: {
    title: 'DR (direct routing, ipvsadm -g, the default)',
    explain: [
      'Director and real servers share the VIP; the director only rewrites the destination MAC.',
      'So they must share a link; replies go straight from the real server to the client.',
    ],
    diagram: [
      'client ──▶ VIP [director] ──same packet, new MAC──▶ real server (VIP on lo)',
      'client ◀────────────── reply straight from the real server ──────┘',
    ],
  },
  tun: {
    title: 'TUN (IP tunnelling, ipvsadm -i)',
    explain: [
      'The director wraps each request in a new IP header (IPIP) addressed to a real server.',
      'The real server unwraps it on tunl0, where the VIP lives, and replies to the client directly.',
    ],
    diagram: [
      'client ──▶ VIP [director] ══IPIP══▶ real server (VIP on tunl0)',
      'client ◀────────── reply straight from the real server ──┘',
    ],
  },
};

export function modeHelp(mode: Mode): string {
  const l = MODE_LESSONS[mode];
  return [...l.explain, '', ...l.diagram].join('\n');
}

export const ROLE_HELP: Record<string, string> = {
  director:
    'holds the VIP and spreads connections over the real servers (ipvsadm; keepalived for HA)',
  'real-server': 'runs the service (nginx) that the director sends connections to',
  'nfs-server': 'shares files over NFS with the web servers (the seed’s host 144)',
};

export const HA_HELP: Record<string, string> = {
  none: 'one director: ipvsadm holds the table, the VIP is an address on its NIC',
  MASTER: 'two directors with keepalived (VRRP); this one holds the VIP while it is alive',
  BACKUP: 'two directors with keepalived (VRRP); this one takes the VIP when the MASTER stops',
};

export const FIREWALL_HELP: Record<string, string> = {
  open: 'keep the firewall and open exactly what LVS needs (the service port, VRRP for HA, NFS)',
  disable: 'stop and disable firewalld/ufw, as the seed notes do (simple, but nothing filters)',
};

export const NIC_USE_HELP: Record<string, string> = {
  keep: 'keep its current address (the lab file records it, so the other hosts can be checked)',
  static: 'set a static address, gateway and DNS (written to the distro’s network config)',
  skip: 'leave this NIC out of the lab: lvs-setup will not touch it',
};
