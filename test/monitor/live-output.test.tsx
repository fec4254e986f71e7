import { EventEmitter } from 'node:events';
import { render } from 'ink';
import { describe, expect, it } from 'vitest';
import { MONITOR_INK_OPTIONS } from '../../screens/monitor/monitor-app.js';
import { MonitorView } from '../../screens/monitor/monitor-view.js';
import { initialState, monitorReducer } from '../../screens/monitor/reducer.js';
import { installFastOutput } from '../../screens/ink-fast-output.js';
import { tableSnapshot, waitFor } from './helpers.js';

/** A terminal that keeps what is written to it. */
class Terminal extends EventEmitter {
  readonly isTTY = true;
  writes: string[] = [];
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
}

class NoInput extends EventEmitter {
  readonly isTTY = false;
  setRawMode(): void {}
  setEncoding(): void {}
  ref(): void {}
  unref(): void {}
  read(): null {
    return null;
  }
}

describe('the live screen as the terminal gets it', () => {
  it('rewrites only the lines that changed (moving the selection sends two lines, not the screen)', async () => {
    installFastOutput();
    const terminal = new Terminal(120, 30);
    let state = initialState({ terminalRows: 30 });
    state = monitorReducer(state, {
      type: 'sample',
      snapshot: tableSnapshot({ services: 3, servers: 4, takenAt: 1_700_000_000_000 }),
    });
    const view = (s: typeof state) => (
      <MonitorView state={s} columns={120} exact={false} intervalMs={1000} />
    );
    const instance = render(view(state), {
      ...MONITOR_INK_OPTIONS,
      stdout: terminal as unknown as NodeJS.WriteStream,
      stderr: terminal as unknown as NodeJS.WriteStream,
      stdin: new NoInput() as unknown as NodeJS.ReadStream,
      patchConsole: false,
      exitOnCtrlC: false,
    });
    try {
      const first = await waitFor(
        () => terminal.writes.join(''),
        (t) => t.includes('172.16.1.12:80'),
        'the first frame',
      );
      const selected = (s: typeof state) => s.rows[s.selected]?.key;
      const moved = monitorReducer(state, { type: 'move', delta: 2 });
      expect(selected(moved)).not.toBe(selected(state));
      const before = terminal.writes.length;
      instance.rerender(view(moved));
      const second = await waitFor(
        () => terminal.writes.slice(before).join(''),
        (t) => t.includes('› '),
        'the second frame',
      );
      // the new selected row is written, the header and the other rows are not
      expect(second).toContain('› ');
      expect(second).not.toContain('lvs-setup monitor');
      expect(second).not.toContain('Total conns');
      expect(second.length).toBeLessThan(first.length / 3);
    } finally {
      instance.unmount();
    }
  });
});
