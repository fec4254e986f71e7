import { describe, expect, it } from 'vitest';
import {
  drainActions,
  editWeightArgv,
  forwardFlag,
  restoreActions,
  serviceArgs,
  setWeightActions,
  zeroCountersActions,
} from '../../source/monitor/actions.js';

const dr = {
  protocol: 'tcp' as const,
  family: 'inet' as const,
  address: '192.168.91.148',
  port: 80,
  fwmark: null,
  persistence: null,
};
const nat = { ...dr, address: '192.168.91.141', persistence: 120 };
const rs = {
  address: '192.168.91.146',
  port: 80,
  family: 'inet' as const,
  forward: 'route' as const,
};

describe('monitor actions', () => {
  it('names the service the way ipvsadm takes it', () => {
    expect(serviceArgs(dr)).toEqual(['-t', '192.168.91.148:80']);
    expect(serviceArgs({ ...dr, protocol: 'udp', port: 53 })).toEqual(['-u', '192.168.91.148:53']);
    expect(serviceArgs({ ...dr, protocol: 'sctp' })).toEqual([
      '--sctp-service',
      '192.168.91.148:80',
    ]);
    expect(serviceArgs({ ...dr, family: 'inet6', address: '2001:db8::1' })).toEqual([
      '-t',
      '[2001:db8::1]:80',
    ]);
    expect(serviceArgs({ ...dr, protocol: 'fwmark', address: '', port: 0, fwmark: 10 })).toEqual([
      '-f',
      '10',
    ]);
    expect(
      serviceArgs({ ...dr, protocol: 'fwmark', family: 'inet6', address: '', port: 0, fwmark: 10 }),
    ).toEqual(['-f', '10', '-6']);
  });

  it('always repeats the server’s forwarding method (ipvsadm -e would reset it to -g)', () => {
    expect(forwardFlag('masq')).toBe('-m');
    expect(forwardFlag('route')).toBe('-g');
    expect(forwardFlag('tunnel')).toBe('-i');
    expect(forwardFlag('local')).toBe('-g');
    expect(editWeightArgv(nat, { ...rs, address: '192.168.81.142', forward: 'masq' }, 3)).toEqual([
      'ipvsadm',
      '-e',
      '-t',
      '192.168.91.141:80',
      '-r',
      '192.168.81.142:80',
      '-m',
      '-w',
      '3',
    ]);
  });

  it('drains with weight 0 and can undo it', () => {
    expect(drainActions(dr, rs, 3)).toEqual([
      {
        kind: 'command',
        argv: [
          'ipvsadm',
          '-e',
          '-t',
          '192.168.91.148:80',
          '-r',
          '192.168.91.146:80',
          '-g',
          '-w',
          '0',
        ],
        inverse: [
          {
            argv: [
              'ipvsadm',
              '-e',
              '-t',
              '192.168.91.148:80',
              '-r',
              '192.168.91.146:80',
              '-g',
              '-w',
              '3',
            ],
          },
        ],
      },
    ]);
  });

  it('on a persistent service also expires the persistence templates of quiescent servers', () => {
    const actions = drainActions(
      nat,
      { ...rs, address: '192.168.81.142', forward: 'masq' },
      1,
      false,
    );
    expect(actions.map((a) => (a.kind === 'command' ? a.argv.join(' ') : a.kind))).toEqual([
      'sysctl -w net.ipv4.vs.expire_quiescent_template=1',
      'ipvsadm -e -t 192.168.91.141:80 -r 192.168.81.142:80 -m -w 0',
    ]);
    expect(actions[0]).toMatchObject({
      inverse: [{ argv: ['sysctl', '-w', 'net.ipv4.vs.expire_quiescent_template=0'] }],
    });
    // Already on: nothing to change.
    expect(drainActions(nat, { ...rs, forward: 'masq' }, 1, true)).toHaveLength(1);
  });

  it('sets and restores weights within ipvsadm’s range', () => {
    expect(setWeightActions(dr, rs, 7, 1)[0]).toMatchObject({
      argv: editWeightArgv(dr, rs, 7),
      inverse: [{ argv: editWeightArgv(dr, rs, 1) }],
    });
    expect(restoreActions(dr, rs, 3, 0)[0]).toMatchObject({ argv: editWeightArgv(dr, rs, 3) });
    expect(() => setWeightActions(dr, rs, 65536, 1)).toThrow(RangeError);
    expect(() => setWeightActions(dr, rs, -1, 1)).toThrow(RangeError);
    expect(() => setWeightActions(dr, rs, 1.5, 1)).toThrow(RangeError);
  });

  it('zeroes counters of all services or one, without an inverse', () => {
    expect(zeroCountersActions()).toEqual([{ kind: 'command', argv: ['ipvsadm', '-Z'] }]);
    expect(zeroCountersActions(dr)).toEqual([
      { kind: 'command', argv: ['ipvsadm', '-Z', '-t', '192.168.91.148:80'] },
    ]);
  });
});
