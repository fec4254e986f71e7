import { describe, expect, it } from 'vitest';
import {
  exportLines,
  parseIsEnabled,
  parseKeepalivedConf,
  parseShellVars,
  parseSs,
  parseTcpdumpVrrp,
} from '../../source/doctor/parse.js';

describe('parseSs', () => {
  it('reads iproute2 6.x output without header', () => {
    const text = [
      'LISTEN 0      511          0.0.0.0:80        0.0.0.0:*',
      'LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*',
      'LISTEN 0      511             [::]:80           [::]:*',
      'LISTEN 0      128   192.168.91.148:8080      0.0.0.0:*',
      'LISTEN 0      128  [::ffff:10.0.0.5]:443       [::]:*',
    ].join('\n');
    expect(parseSs(text, 'tcp')).toEqual([
      { protocol: 'tcp', address: '0.0.0.0', port: 80 },
      { protocol: 'tcp', address: '127.0.0.53', port: 53 },
      { protocol: 'tcp', address: '::', port: 80 },
      { protocol: 'tcp', address: '192.168.91.148', port: 8080 },
      { protocol: 'tcp', address: '10.0.0.5', port: 443 },
    ]);
  });

  it('reads CentOS 7 output (header, *:80 and :::80)', () => {
    const text = [
      'State      Recv-Q Send-Q Local Address:Port               Peer Address:Port',
      'LISTEN     0      128          *:80                       *:*',
      'LISTEN     0      128         :::80                      :::*',
    ].join('\n');
    expect(parseSs(text, 'tcp')).toEqual([
      { protocol: 'tcp', address: '*', port: 80 },
      { protocol: 'tcp', address: '::', port: 80 },
    ]);
  });

  it('reads UDP (UNCONN) and ignores junk', () => {
    expect(parseSs('UNCONN 0 0 0.0.0.0:111 0.0.0.0:*\ngarbage\n\n', 'udp')).toEqual([
      { protocol: 'udp', address: '0.0.0.0', port: 111 },
    ]);
  });
});

describe('parseKeepalivedConf', () => {
  const conf = `
! Configuration File for keepalived
global_defs {
   router_id LVS_DEVEL
   vrrp_strict            # drops traffic to the VIP
}
vrrp_instance VI_1 {
    state MASTER
    interface ens33
    virtual_router_id 51
    priority 100
    advert_int 1
    nopreempt
    authentication {
        auth_type PASS
        auth_pass 123456789
    }
    virtual_ipaddress {
        192.168.91.148/32 dev ens33 label ens33:0
    }
}
virtual_server 192.168.91.148 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.168.91.146 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 10
            nb_get_retry 3
            connect_port 80
        }
    }
    real_server 192.168.91.147 80 { weight 1 }
}`;

  it('finds the keywords doctor checks', () => {
    const c = parseKeepalivedConf(conf);
    expect(c.vrrpStrict).toBe(true);
    expect(c.instances).toEqual([
      {
        name: 'VI_1',
        state: 'MASTER',
        interface: 'ens33',
        routerId: 51,
        priority: 100,
        nopreempt: true,
        accept: false,
        authPassLength: 9,
        virtualAddresses: ['192.168.91.148'],
      },
    ]);
    expect(c.virtualServers).toEqual([
      {
        address: '192.168.91.148',
        port: 80,
        lbKind: 'DR',
        protocol: 'TCP',
        realServers: [
          { address: '192.168.91.146', port: 80 },
          { address: '192.168.91.147', port: 80 },
        ],
      },
    ]);
  });

  it('survives unbalanced braces and empty text', () => {
    expect(parseKeepalivedConf('').instances).toEqual([]);
    expect(parseKeepalivedConf('}}} vrrp_instance X { state BACKUP').instances[0]?.state).toBe(
      'BACKUP',
    );
  });

  it('a commented vrrp_strict does not count', () => {
    expect(parseKeepalivedConf('global_defs {\n  # vrrp_strict\n}\n').vrrpStrict).toBe(false);
  });
});

describe('other parsers', () => {
  it('tcpdump VRRP lines', () => {
    const text = [
      '20:01:02.000001 IP 192.168.91.145 > 224.0.0.18: VRRPv2, Advertisement, vrid 51, prio 100, authtype simple, intvl 1s, length 20',
      '20:01:02.500000 IP 192.168.91.10 > 224.0.0.18: VRRPv3, Advertisement, vrid 7, prio 255, intvl 100cs, length 12',
      'tcpdump: verbose output suppressed',
    ].join('\n');
    expect(parseTcpdumpVrrp(text)).toEqual([
      { source: '192.168.91.145', vrid: 51, priority: 100 },
      { source: '192.168.91.10', vrid: 7, priority: 255 },
    ]);
  });

  it('systemctl is-enabled, including the SysV redirect of Debian', () => {
    expect(parseIsEnabled('enabled\n')).toBe('enabled');
    expect(
      parseIsEnabled(
        'ipvsadm.service is not a native service, redirecting to systemd-sysv-install.\nExecuting: /lib/systemd/systemd-sysv-install is-enabled ipvsadm\ndisabled\n',
      ),
    ).toBe('disabled');
    expect(parseIsEnabled('')).toBeNull();
  });

  it('shell variables and exports', () => {
    expect(parseShellVars('# x\nAUTO="true"\nDAEMON=none\nIPVSADM_CONFIG=\'x y\'\n')).toEqual({
      AUTO: 'true',
      DAEMON: 'none',
      IPVSADM_CONFIG: 'x y',
    });
    expect(exportLines('# nothing\n\n/usr/share *(ro,sync)\n')).toEqual(['/usr/share *(ro,sync)']);
  });
});
