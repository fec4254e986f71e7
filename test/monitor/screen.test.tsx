import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatClock } from '../../screens/monitor/format.js';
import { MonitorApp } from '../../screens/monitor/monitor-app.js';
import type { Action } from '../../source/plan/step.js';
import { fakeSource, tableSnapshot, waitFor, waitForFrame, type TableOptions } from './helpers.js';

const DOWN = '\u001B[B';
const UP = '\u001B[A';

/** Each reading one second later, server j of service i getting (i+1)*(j+1) more connections a second. */
function growing(o: TableOptions = {}) {
  return fakeSource((tick) =>
    tableSnapshot({
      ...o,
      takenAt: 1_700_000_000_000 + tick * 1000,
      traffic: (i, j) => tick * (i + 1) * (j + 1),
    }),
  );
}

let unmount: (() => void) | null = null;
afterEach(() => {
  unmount?.();
  unmount = null;
});

function show(element: React.ReactElement) {
  const r = render(element);
  unmount = r.unmount;
  return r;
}

const lines = (frame: string) => frame.split('\n');
const selectedLine = (frame: string) => lines(frame).find((l) => l.startsWith('› ')) ?? '';

describe('monitor screen with a first reading made by the caller', () => {
  it('draws the table in its first frame and reads again only one interval later', async () => {
    const source = growing();
    const first = await source.read();
    const { lastFrame, frames } = show(
      <MonitorApp
        source={source}
        first={{ snapshot: first }}
        intervalMs={300}
        rows={30}
        columns={100}
      />,
    );
    // The first frame is already the table, and the poll has not read yet.
    expect(frames[0]).toContain('172.16.1.12:80');
    expect(source.reads).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(source.reads).toBe(1);
    await waitFor(
      () => source.reads,
      (n) => n >= 2,
      'the next reading',
    );
    await waitForFrame(lastFrame, /172\.16\.1\.12:80/);
  });

  it("shows the first reading's error as a failed poll would", () => {
    const source = growing();
    const { frames } = show(
      <MonitorApp
        source={source}
        first={{ error: 'Cannot read the IPVS table: permission denied' }}
        intervalMs={300}
        rows={30}
        columns={100}
      />,
    );
    expect(frames[0]).toContain('Cannot read the IPVS table: permission denied');
  });
});

describe('monitor screen', () => {
  it('draws nothing for re-dated readings; the next counters move the clock and keep the table', async () => {
    const t0 = 1_700_000_000_000;
    let kept: ReturnType<typeof tableSnapshot> | null = null;
    let countersFrom = Infinity;
    const source = fakeSource((tick) => {
      if (tick < 2) {
        kept = tableSnapshot({
          takenAt: t0 + tick * 1000,
          traffic: (i, j) => tick * (i + 1) * (j + 1),
        });
        return kept;
      }
      // Nothing new: the last reading again, re-dated (its services are the same array) until
      // the test lets new counters come (the same numbers, read at this tick).
      const last = kept as NonNullable<typeof kept>;
      const at = t0 + tick * 1000;
      return { ...last, takenAt: at, countersAt: tick >= countersFrom ? at : t0 + 1000 };
    });
    const { lastFrame, frames } = show(
      <MonitorApp source={source} intervalMs={30} rows={30} columns={100} />,
    );
    await waitForFrame(lastFrame, /172\.16\.1\.12:80 .* 6 /);
    // Ink may still write the frame it has queued (a loaded machine is slow to get there): the
    // count is taken once no frame has come for 500 ms, while the re-dated readings go on every
    // 30 ms (were each drawn, it would never settle).
    let count = frames.length;
    let still = Date.now();
    await waitFor(
      () => {
        if (frames.length !== count) {
          count = frames.length;
          still = Date.now();
        }
        return Date.now() - still;
      },
      (quietMs) => quietMs >= 500,
      'the frames to stop',
    );
    const before = lastFrame() ?? '';
    expect(before).toContain(formatClock(t0 + 1000));
    const drawn = frames.length;
    const readsSettled = source.reads;
    await waitFor(
      () => source.reads,
      (n) => n >= readsSettled + 6,
      'six more re-dated readings',
    );
    expect(frames.length).toBe(drawn);
    expect(lastFrame()).toBe(before);
    countersFrom = source.reads;
    const after = await waitFor(
      () => lastFrame() ?? '',
      (f) => !f.includes(formatClock(t0 + 1000)),
      'the clock of the new counters',
    );
    const table = (f: string) => lines(f).filter((l) => l.includes('172.16.'));
    const row = (f: string) => table(f).find((l) => l.includes('172.16.1.12:80')) ?? '';
    // The same counters over the new period: the server's CPS falls from 6 to 0.
    expect(row(before)).toMatch(/ 6 /);
    expect(row(after)).not.toMatch(/ 6 /);
    expect(table(after)).toHaveLength(table(before).length);
  });

  it('shows the header, the DR note, services and servers with rates, and moves the selection', async () => {
    const { lastFrame, stdin } = show(
      <MonitorApp source={growing()} intervalMs={40} rows={30} columns={100} />,
    );
    let frame = await waitForFrame(lastFrame, /172\.16\.1\.12:80 .* 6 /);
    expect(frame).toContain('lvs-setup monitor test-director');
    expect(frame).toContain('OutPkts/OutBytes are 0 in DR and TUN: replies bypass the director.');
    expect(frame).toContain('TCP 10.0.0.1:80 wrr DR');
    expect(selectedLine(frame)).toContain('TCP 10.0.0.1:80');
    stdin.write(DOWN);
    frame = await waitFor(
      () => lastFrame() ?? '',
      (f) => selectedLine(f).includes('172.16.0.10:80'),
      'selection on the first server',
    );
    stdin.write(DOWN);
    await waitFor(
      () => lastFrame() ?? '',
      (f) => selectedLine(f).includes('172.16.0.11:80'),
      'selection on the second server',
    );
    stdin.write(UP);
    await waitFor(
      () => lastFrame() ?? '',
      (f) => selectedLine(f).includes('172.16.0.10:80'),
      'selection back up',
    );
  });

  it('drains the selected server after confirmation, through onAction', async () => {
    const onAction = vi.fn(async (_actions: Action[], _description: string) => {});
    const { lastFrame, stdin } = show(
      <MonitorApp source={growing()} intervalMs={40} rows={30} columns={100} onAction={onAction} />,
    );
    await waitForFrame(lastFrame, '172.16.0.12:80');
    stdin.write(DOWN);
    await waitFor(
      () => lastFrame() ?? '',
      (f) => selectedLine(f).includes('172.16.0.10:80'),
      'selection',
    );
    stdin.write('d');
    await waitForFrame(lastFrame, 'Drain 172.16.0.10:80 in TCP 10.0.0.1:80 (weight 1 → 0)? y/n');
    expect(onAction).not.toHaveBeenCalled();
    stdin.write('y');
    await waitFor(
      () => onAction.mock.calls.length,
      (n) => n === 1,
      'onAction',
    );
    expect(onAction.mock.calls[0]?.[0]).toEqual([
      {
        kind: 'command',
        argv: ['ipvsadm', '-e', '-t', '10.0.0.1:80', '-r', '172.16.0.10:80', '-g', '-w', '0'],
        inverse: [
          { argv: ['ipvsadm', '-e', '-t', '10.0.0.1:80', '-r', '172.16.0.10:80', '-g', '-w', '1'] },
        ],
      },
    ]);
    expect(onAction.mock.calls[0]?.[1]).toBe(
      'Drain 172.16.0.10:80 in TCP 10.0.0.1:80 (weight 1 → 0)',
    );
    await waitForFrame(lastFrame, '172.16.0.10:80 drained');
  });

  it('says no to a drain with n, and shows failures', async () => {
    const onAction = vi.fn(async () => {
      throw new Error('ipvsadm: Memory allocation problem');
    });
    const { lastFrame, stdin } = show(
      <MonitorApp source={growing()} intervalMs={40} rows={30} columns={100} onAction={onAction} />,
    );
    await waitForFrame(lastFrame, '172.16.0.12:80');
    stdin.write(DOWN);
    await waitFor(
      () => lastFrame() ?? '',
      (f) => selectedLine(f).includes('172.16.0.10:80'),
      'selection',
    );
    stdin.write('d');
    await waitForFrame(lastFrame, 'y/n');
    stdin.write('n');
    await waitForFrame(lastFrame, 'Cancelled.');
    expect(onAction).not.toHaveBeenCalled();
    stdin.write('d');
    await waitForFrame(lastFrame, 'y/n');
    stdin.write('y');
    await waitForFrame(lastFrame, 'Failed: ipvsadm: Memory allocation problem');
  });

  it('sorts by CPS with s', async () => {
    const { lastFrame, stdin } = show(
      <MonitorApp source={growing()} intervalMs={40} rows={30} columns={100} />,
    );
    let frame = await waitForFrame(lastFrame, /172\.16\.1\.12:80 .* 6 /);
    const order = (f: string) =>
      lines(f)
        .filter((l) => /172\.16\.1\.1\d:80/.test(l))
        .map((l) => /172\.16\.1\.(1\d)/.exec(l)?.[1]);
    expect(order(frame)).toEqual(['10', '11', '12']);
    stdin.write('s');
    frame = await waitForFrame(lastFrame, 'CPS▼');
    expect(order(frame)).toEqual(['12', '11', '10']);
    // The busier service comes first too.
    expect(lines(frame).findIndex((l) => l.includes('TCP 10.0.1.1:80'))).toBeLessThan(
      lines(frame).findIndex((l) => l.includes('TCP 10.0.0.1:80')),
    );
    expect(frame).toContain('s sort (CPS)');
  });

  it('renders only the rows that fit, and scrolls through 1,000 servers', async () => {
    const source = growing({ services: 100, servers: 10 });
    const { lastFrame, stdin } = show(
      <MonitorApp source={source} intervalMs={200} rows={30} columns={100} />,
    );
    let frame = await waitForFrame(lastFrame, '172.16.0.10:80');
    // One line short of the terminal: a frame as tall as the terminal Ink redraws by clearing
    // the whole screen, scrollback included, every time.
    expect(lines(frame)).toHaveLength(29);
    const tableRows = (f: string) =>
      lines(f).filter((l) => /^[› ] (TCP 10\.0\.| {2}172\.16\.)/.test(l));
    const visible = tableRows(frame).length;
    expect(visible).toBeGreaterThan(10);
    expect(visible).toBeLessThan(30);
    expect(frame).not.toContain('172.16.99.19:80');
    stdin.write('G');
    frame = await waitFor(
      () => lastFrame() ?? '',
      (f) => selectedLine(f).includes('172.16.99.19:80'),
      'the last row selected',
    );
    expect(frame).not.toContain('172.16.0.10:80');
    expect(tableRows(frame)).toHaveLength(visible);
    // One key per frame: ink-testing-library's stdin keeps only the last write until Ink reads it.
    for (let i = 0; i < visible + 3; i++) {
      const before = selectedLine(lastFrame() ?? '');
      stdin.write(UP);
      frame = await waitFor(
        () => lastFrame() ?? '',
        (f) => selectedLine(f) !== before,
        `up #${i + 1}`,
      );
    }
    // Row 1099 is the last; each service takes 11 rows (itself and 10 servers).
    const index = 1099 - (visible + 3);
    const expected =
      index % 11 === 0
        ? `TCP 10.0.${index / 11}.1:80`
        : `172.16.${Math.floor(index / 11)}.${9 + (index % 11)}:80`;
    expect(selectedLine(frame)).toContain(expected);
    expect(tableRows(frame)[0]).toContain(expected);
  }, 60000); // ~30 frames of 1,100 rows: slow on a loaded 2-core machine

  it('warns on an HA director, pauses, shows help and quits', async () => {
    const onExit = vi.fn();
    const source = growing({ keepalived: true });
    const { lastFrame, stdin } = show(
      <MonitorApp source={source} intervalMs={40} rows={30} columns={100} onExit={onExit} />,
    );
    let frame = await waitForFrame(
      lastFrame,
      'keepalived is running: it may override manual weight changes',
    );
    expect(frame).toContain('VRRP MASTER (keepalived)');
    expect(frame).toContain('[read-only]');
    stdin.write('p');
    await waitForFrame(lastFrame, '[paused]');
    // A reading already under way when p was pressed may still finish; none starts after it.
    await new Promise((r) => setTimeout(r, 60));
    const reads = source.reads;
    await new Promise((r) => setTimeout(r, 150));
    expect(source.reads).toBe(reads);
    stdin.write('p');
    await waitFor(
      () => source.reads,
      (n) => n > reads,
      'reading again after resume',
    );
    stdin.write('?');
    frame = await waitForFrame(lastFrame, 'Press ? or Esc to return.');
    expect(frame).toContain('drain the selected real server');
    stdin.write('?');
    await waitForFrame(lastFrame, '172.16.0.10:80');
    stdin.write('q');
    await waitFor(
      () => onExit.mock.calls.length,
      (n) => n === 1,
      'onExit',
    );
  });

  it('shows exact numbers with exact', async () => {
    const source = fakeSource((tick) =>
      tableSnapshot({
        takenAt: tick * 1000,
        base: 123_456_789,
        traffic: (i, j) => tick * 12_345 * (i + j + 1),
      }),
    );
    const { lastFrame } = show(
      <MonitorApp source={source} intervalMs={40} rows={30} columns={140} exact />,
    );
    const frame = await waitForFrame(lastFrame, /172\.16\.1\.12:80 .* 49380 /);
    expect(frame).not.toMatch(/\d+(\.\d)?k /);
    const human = show(
      <MonitorApp
        source={fakeSource((t) =>
          tableSnapshot({ takenAt: t * 1000, traffic: (i, j) => t * 12_345 * (i + j + 1) }),
        )}
        intervalMs={40}
        rows={30}
        columns={140}
      />,
    );
    await waitForFrame(human.lastFrame, /172\.16\.1\.12:80 .* 49k /);
    human.unmount();
  });
});
