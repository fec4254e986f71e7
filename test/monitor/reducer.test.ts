import { describe, expect, it } from 'vitest';
import {
  buildRows,
  initialState,
  keyToEvent,
  monitorReducer,
  promptText,
  selectedRow,
  type MonitorEvent,
  type MonitorState,
} from '../../screens/monitor/reducer.js';
import { historyOf } from '../../source/monitor/rates.js';
import { tableSnapshot, type TableOptions } from './helpers.js';

function run(state: MonitorState, ...events: MonitorEvent[]): MonitorState {
  return events.reduce(monitorReducer, state);
}

/** Two readings one second apart: server j of service i gets (i+1)*(j+1) new connections. */
function withTraffic(o: TableOptions = {}, state = initialState({ viewport: 10 })): MonitorState {
  const first = tableSnapshot({ ...o, traffic: undefined, takenAt: 0 });
  const second = tableSnapshot({
    ...o,
    takenAt: 1000,
    traffic: (i, j) => (i + 1) * (j + 1) + (o.traffic?.(i, j) ?? 0),
  });
  return run(state, { type: 'sample', snapshot: first }, { type: 'sample', snapshot: second });
}

const key = (state: MonitorState) => selectedRow(state)?.key;

describe('monitor reducer', () => {
  it('keeps the same state when the terminal reports the size it already has (no frame)', () => {
    const s = monitorReducer(initialState({ terminalRows: 30 }), { type: 'terminal', rows: 30 });
    expect(monitorReducer(s, { type: 'terminal', rows: 30 })).toBe(s);
    const taller = monitorReducer(s, { type: 'terminal', rows: 40 });
    expect(taller).not.toBe(s);
    expect(taller.terminalRows).toBe(40);
  });

  it('builds rows as services followed by their servers, with rates', () => {
    const s = withTraffic();
    expect(s.rows.map((r) => r.key)).toEqual([
      'tcp:10.0.0.1:80',
      'tcp:10.0.0.1:80>172.16.0.10:80',
      'tcp:10.0.0.1:80>172.16.0.11:80',
      'tcp:10.0.0.1:80>172.16.0.12:80',
      'tcp:10.0.1.1:80',
      'tcp:10.0.1.1:80>172.16.1.10:80',
      'tcp:10.0.1.1:80>172.16.1.11:80',
      'tcp:10.0.1.1:80>172.16.1.12:80',
    ]);
    const r = s.rows[7];
    expect(r?.kind === 'destination' && r.destination.rates?.cps).toBe(6);
    expect(historyOf(s.history, 'tcp:10.0.1.1:80>172.16.1.12:80')).toEqual([6]);
    expect(s.originalWeights['tcp:10.0.0.1:80>172.16.0.12:80']).toBe(3);
  });

  it("remembers a server's first weight whether or not its service's list is a kept one", () => {
    const a = tableSnapshot({ takenAt: 1000 });
    let s = run(initialState(), { type: 'sample', snapshot: a });
    // the next reading shares service 0's list (SnapshotReuse) and brings a new server in 1
    const s1 = a.services[1];
    if (!s1) throw new Error('no service');
    const added = { ...s1.destinations[0], address: '172.16.1.99' } as (typeof s1.destinations)[0];
    added.key = `${s1.key}>172.16.1.99:80`;
    added.weight = 7;
    const b = {
      ...a,
      takenAt: 2000,
      services: [a.services[0], { ...s1, destinations: [...s1.destinations, added] }],
    } as typeof a;
    s = run(s, { type: 'sample', snapshot: b });
    expect(s.originalWeights[added.key]).toBe(7);
    expect(s.originalWeights['tcp:10.0.0.1:80>172.16.0.12:80']).toBe(3);
  });

  it('between two counter readings keeps the rates and adds no sparkline sample', () => {
    const s = withTraffic();
    // A reading at 2 s whose counters are the ones read at 1 s (the kernel has not updated them).
    const repeat = tableSnapshot({ takenAt: 2000, traffic: (i, j) => (i + 1) * (j + 1) });
    repeat.countersAt = 1000;
    const t = run(s, { type: 'sample', snapshot: repeat });
    const r = t.rows[7];
    expect(r?.kind === 'destination' && r.destination.rates?.cps).toBe(6);
    expect(historyOf(t.history, 'tcp:10.0.1.1:80>172.16.1.12:80')).toEqual([6]);
    expect(t.snapshot?.takenAt).toBe(2000);
    // New counters at 3 s, 12 more connections for that server over the 2 s since 1 s: 6/s.
    const fresh = tableSnapshot({ takenAt: 3000, traffic: (i, j) => 3 * (i + 1) * (j + 1) });
    const u = run(t, { type: 'sample', snapshot: fresh });
    const r2 = u.rows[7];
    expect(r2?.kind === 'destination' && r2.destination.rates?.cps).toBe(6);
    expect(historyOf(u.history, 'tcp:10.0.1.1:80>172.16.1.12:80')).toEqual([6, 6]);
  });

  it('takes a re-dated reading (the same services) without recomputing rows or history', () => {
    const s = withTraffic();
    const raw = s.raw as NonNullable<typeof s.raw>;
    // Nothing but its time changed: the state itself, so React draws no frame (the app skips
    // these before dispatching too, but its check can be a reading behind on a slow machine).
    const same = run(s, { type: 'sample', snapshot: { ...raw, takenAt: 2000, countersAt: 1000 } });
    expect(same).toBe(s);
    // With another director state: the clock and the director move, rows and history do not.
    const director = { vrrp: 'MASTER' as const, keepalived: true, vipsPresent: ['10.0.1.1'] };
    const t = run(s, {
      type: 'sample',
      snapshot: { ...raw, takenAt: 2000, countersAt: 1000, director },
    });
    expect(t).not.toBe(s);
    expect(t.rows).toBe(s.rows);
    expect(t.history).toBe(s.history);
    expect(t.snapshot?.services).toBe(s.snapshot?.services);
    expect(t.snapshot?.takenAt).toBe(2000);
    expect(t.snapshot?.director).toBe(director);
  });

  it('takes the same counters at a later time (nothing moving) as zero rates with one more sample', () => {
    // Two readings with the same counters: every rate is 0.
    const still = run(
      initialState({ viewport: 10 }),
      { type: 'sample', snapshot: tableSnapshot({ takenAt: 0 }) },
      { type: 'sample', snapshot: tableSnapshot({ takenAt: 2000 }) },
    );
    const raw = still.raw as NonNullable<typeof still.raw>;
    const later = run(still, { type: 'sample', snapshot: { ...raw, takenAt: 4000 } });
    expect(later.rows).toBe(still.rows);
    expect(later.snapshot?.services).toBe(still.snapshot?.services);
    expect(later.snapshot?.intervalMs).toBe(2000);
    expect(later.rateBase).toBe(still.raw);
    expect(historyOf(later.history, 'tcp:10.0.1.1:80>172.16.1.12:80')).toEqual([0, 0]);
    // With traffic in the last period the same services at a later time are computed again:
    // the servers' rates fall to 0 and the sparkline shows it.
    const busy = withTraffic();
    const busyRaw = busy.raw as NonNullable<typeof busy.raw>;
    const stopped = run(busy, { type: 'sample', snapshot: { ...busyRaw, takenAt: 3000 } });
    const r = stopped.rows[7];
    expect(r?.kind === 'destination' && r.destination.rates?.cps).toBe(0);
    expect(historyOf(stopped.history, 'tcp:10.0.1.1:80>172.16.1.12:80')).toEqual([6, 0]);
  });

  it('moves the selection and keeps it on the same row when the table changes', () => {
    let s = run(withTraffic(), { type: 'move', delta: 2 });
    expect(key(s)).toBe('tcp:10.0.0.1:80>172.16.0.11:80');
    s = run(s, { type: 'move', delta: -10 });
    expect(s.selected).toBe(0);
    s = run(s, { type: 'move-to', where: 'last' }, { type: 'move', delta: 5 });
    expect(key(s)).toBe('tcp:10.0.1.1:80>172.16.1.12:80');
    // A new service appears before the selection: the selection follows its row.
    s = run(s, { type: 'sample', snapshot: tableSnapshot({ services: 3, takenAt: 2000 }) });
    expect(key(s)).toBe('tcp:10.0.1.1:80>172.16.1.12:80');
  });

  it('cycles the sort column and sorts services and servers, largest first', () => {
    let s = run(withTraffic({ traffic: (i, j) => (i === 0 && j === 0 ? 100 : 0) }), {
      type: 'cycle-sort',
    });
    expect(s.sort).toBe('cps');
    expect(s.rows.map((r) => r.key).slice(0, 4)).toEqual([
      'tcp:10.0.0.1:80',
      'tcp:10.0.0.1:80>172.16.0.10:80',
      'tcp:10.0.0.1:80>172.16.0.12:80',
      'tcp:10.0.0.1:80>172.16.0.11:80',
    ]);
    s = run(s, { type: 'cycle-sort' }, { type: 'cycle-sort' }, { type: 'cycle-sort' });
    expect(s.sort).toBe('weight');
    expect(s.rows.map((r) => r.key)[1]).toBe('tcp:10.0.0.1:80>172.16.0.12:80');
    expect(s.message?.text).toBe('Sorted by weight.');
    for (let i = 0; i < 6; i++) s = run(s, { type: 'cycle-sort' });
    expect(s.sort).toBe('table');
  });

  it('scrolls so the selection stays in the viewport', () => {
    let s = withTraffic({ services: 100, servers: 10 }, initialState({ viewport: 20 }));
    expect(s.rows).toHaveLength(1100);
    s = run(s, { type: 'move', delta: 25 });
    expect(s.selected).toBe(25);
    expect(s.top).toBe(6);
    s = run(s, { type: 'page', direction: 1 });
    expect(s.selected).toBe(44);
    s = run(s, { type: 'move-to', where: 'last' });
    expect(s.top).toBe(1080);
    s = run(s, { type: 'resize', viewport: 50 });
    expect(s.top).toBe(1050);
    s = run(s, { type: 'move-to', where: 'first' });
    expect(s.top).toBe(0);
  });

  it('drains the selected server only after y, with the right actions', () => {
    let s = run(withTraffic(), { type: 'move', delta: 3 }, { type: 'drain' });
    expect(s.mode).toEqual({ kind: 'confirm-drain', destKey: 'tcp:10.0.0.1:80>172.16.0.12:80' });
    expect(s.request).toBeNull();
    expect(promptText(s)?.line).toBe('Drain 172.16.0.12:80 in TCP 10.0.0.1:80 (weight 3 → 0)? y/n');
    s = run(s, { type: 'confirm' });
    expect(s.mode.kind).toBe('browse');
    expect(s.request).toEqual({
      id: 1,
      actions: [
        {
          kind: 'command',
          argv: ['ipvsadm', '-e', '-t', '10.0.0.1:80', '-r', '172.16.0.12:80', '-g', '-w', '0'],
          inverse: [
            {
              argv: ['ipvsadm', '-e', '-t', '10.0.0.1:80', '-r', '172.16.0.12:80', '-g', '-w', '3'],
            },
          ],
        },
      ],
      description: 'Drain 172.16.0.12:80 in TCP 10.0.0.1:80 (weight 3 → 0)',
      success: '172.16.0.12:80 drained: no new connections; established ones finish.',
    });
    s = run(s, { type: 'request-done', id: 1 });
    expect(s.request).toBeNull();
    expect(s.message).toEqual({
      text: '172.16.0.12:80 drained: no new connections; established ones finish.',
      tone: 'success',
    });
  });

  it('cancels a drain with n or Esc', () => {
    const s = run(withTraffic(), { type: 'move', delta: 1 }, { type: 'drain' }, { type: 'cancel' });
    expect(s.mode.kind).toBe('browse');
    expect(s.request).toBeNull();
  });

  it('warns about keepalived and expires persistence templates on a persistent HA service', () => {
    let s = run(
      withTraffic({ keepalived: true, persistence: 300, forward: 'masq' }),
      { type: 'move', delta: 1 },
      { type: 'drain' },
    );
    const prompt = promptText(s);
    expect(prompt?.detail).toMatch(/keepalived is running here and may put its own weight back/);
    expect(prompt?.detail).toMatch(/expire_quiescent_template=1/);
    s = run(s, { type: 'confirm' });
    expect(s.request?.actions.map((a) => (a.kind === 'command' ? a.argv.join(' ') : ''))).toEqual([
      'sysctl -w net.ipv4.vs.expire_quiescent_template=1',
      'ipvsadm -e -t 10.0.0.1:80 -r 172.16.0.10:80 -m -w 0',
    ]);
    expect(run(s, { type: 'request-done', id: 1 }).message?.text).toMatch(/keepalived/);
  });

  it('sets a typed weight and restores the first-seen weight', () => {
    let s = run(withTraffic(), { type: 'move', delta: 2 }, { type: 'weight' });
    s = run(
      s,
      { type: 'text', text: '1' },
      { type: 'text', text: 'x2' },
      { type: 'text', text: '5' },
      { type: 'backspace' },
    );
    expect(s.mode).toEqual({
      kind: 'weight',
      destKey: 'tcp:10.0.0.1:80>172.16.0.11:80',
      text: '12',
    });
    expect(promptText(s)?.line).toMatch(
      /New weight for 172\.16\.0\.11:80 in TCP 10\.0\.0\.1:80 \(now 2, 0-65535\): 12/,
    );
    s = run(s, { type: 'confirm' });
    expect(s.request?.actions[0]).toMatchObject({
      argv: ['ipvsadm', '-e', '-t', '10.0.0.1:80', '-r', '172.16.0.11:80', '-g', '-w', '12'],
    });
    s = run(s, { type: 'request-done', id: s.request?.id ?? 0 });
    // The table now says 12; r puts back 2.
    s = run(s, {
      type: 'sample',
      snapshot: tableSnapshot({
        takenAt: 2000,
        weight: (i, j) => (i === 0 && j === 1 ? 12 : 1 + j),
      }),
    });
    s = run(s, { type: 'restore' });
    expect(s.request?.actions[0]).toMatchObject({
      argv: ['ipvsadm', '-e', '-t', '10.0.0.1:80', '-r', '172.16.0.11:80', '-g', '-w', '2'],
      inverse: [
        { argv: ['ipvsadm', '-e', '-t', '10.0.0.1:80', '-r', '172.16.0.11:80', '-g', '-w', '12'] },
      ],
    });
  });

  it('prefers the lab file’s weight for restore, and says when none is known', () => {
    const lab = initialState({ viewport: 10, labWeights: { 'tcp:10.0.0.1:80>172.16.0.10:80': 4 } });
    let s = run(withTraffic({}, lab), { type: 'move', delta: 1 }, { type: 'restore' });
    expect(s.request?.actions[0]).toMatchObject({
      argv: ['ipvsadm', '-e', '-t', '10.0.0.1:80', '-r', '172.16.0.10:80', '-g', '-w', '4'],
    });
    s = run(
      initialState(),
      { type: 'sample', snapshot: tableSnapshot({ weight: () => 0 }) },
      { type: 'move', delta: 1 },
      { type: 'restore' },
    );
    expect(s.request).toBeNull();
    expect(s.message?.text).toMatch(/No known weight/);
  });

  it('rejects weights out of range and actions on service rows, read-only screens and busy ones', () => {
    let s = run(
      withTraffic(),
      { type: 'move', delta: 1 },
      { type: 'weight' },
      { type: 'text', text: '99999' },
      { type: 'confirm' },
    );
    expect(s.request).toBeNull();
    expect(s.message?.text).toMatch(/0 to 65535/);
    s = run(withTraffic(), { type: 'drain' });
    expect(s.message?.text).toMatch(/Select a real server/);
    s = run(
      withTraffic({}, initialState({ readOnly: true })),
      { type: 'move', delta: 1 },
      { type: 'drain' },
    );
    expect(s.message?.text).toMatch(/Read-only/);
    s = run(
      withTraffic(),
      { type: 'move', delta: 1 },
      { type: 'drain' },
      { type: 'confirm' },
      { type: 'move', delta: 1 },
      { type: 'drain' },
    );
    expect(s.message?.text).toMatch(/Waiting/);
    s = run(s, { type: 'request-failed', id: 1, message: 'exit 2: Memory allocation problem' });
    expect(s.message).toEqual({ text: 'Failed: exit 2: Memory allocation problem', tone: 'error' });
  });

  it('asks before zeroing counters', () => {
    let s = run(withTraffic(), { type: 'zero' });
    expect(promptText(s)?.line).toMatch(/ipvsadm -Z\)\? y\/n/);
    s = run(s, { type: 'confirm' });
    expect(s.request?.actions).toEqual([{ kind: 'command', argv: ['ipvsadm', '-Z'] }]);
  });

  it('ignores readings while paused and records source errors without losing the table', () => {
    let s = run(withTraffic(), { type: 'toggle-pause' });
    const before = s.snapshot;
    s = run(s, { type: 'sample', snapshot: tableSnapshot({ takenAt: 5000 }) });
    expect(s.snapshot).toBe(before);
    s = run(s, { type: 'toggle-pause' }, { type: 'source-error', message: 'ipvsadm timed out' });
    expect(s.error).toBe('ipvsadm timed out');
    expect(s.rows).toHaveLength(8);
  });

  it('maps keys by mode, including keys pressed before a redraw', () => {
    const k = {};
    expect(keyToEvent('', { downArrow: true }, { kind: 'browse' })).toEqual({
      type: 'move',
      delta: 1,
    });
    expect(keyToEvent('y', k, { kind: 'browse' })).toBeNull();
    expect(keyToEvent('y', k, { kind: 'confirm-zero' })).toEqual({ type: 'confirm' });
    expect(keyToEvent('7', k, { kind: 'weight', destKey: 'x', text: '' })).toEqual({
      type: 'text',
      text: '7',
    });
    expect(keyToEvent('q', k, { kind: 'weight', destKey: 'x', text: '' })).toBeNull();
    // 'd' then 'y' dispatched back to back: the second key sees the confirm mode.
    const s = run(
      withTraffic(),
      { type: 'move', delta: 1 },
      { type: 'key', input: 'd', key: k },
      { type: 'key', input: 'y', key: k },
    );
    expect(s.request?.description).toMatch(/^Drain 172\.16\.0\.10:80/);
    expect(run(s, { type: 'key', input: 'q', key: k }).quit).toBe(true);
    expect(run(initialState(), { type: 'key', input: '?', key: k }).mode.kind).toBe('help');
  });

  it('has no rows before the first reading', () => {
    expect(buildRows(null, 'cps')).toEqual([]);
    expect(run(initialState(), { type: 'move', delta: 1 }).selected).toBe(0);
  });
});
