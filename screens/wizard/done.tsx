import { Box, Text } from 'ink';
import { useEffect, useState } from 'react';
import type { CheckResult } from '../../source/doctor/types.js';
import type { Recap } from '../../source/executor.js';
import { recapLine } from '../../source/wizard/exec-state.js';
import type { SaveResult } from '../../source/wizard/services.js';
import { MONITOR_COMMAND, type HostCommand } from '../../source/wizard/summary.js';
import { useKeys } from './keys.js';
import { Keys, Spinner } from './components.js';

export interface DoneProps {
  recap: Recap;
  host: string;
  /** Where the lab file is (null: not saved). */
  labPath: string | null;
  defaultLabPath: string;
  otherHosts: HostCommand[];
  onSaveLab: (path: string, overwrite: boolean) => Promise<SaveResult>;
  onMonitor: () => void;
  onExit: () => void;
  /** The doctor's checks for this host (after a successful apply); absent: not offered. */
  runChecks?: () => Promise<CheckResult[]>;
  active?: boolean;
}

type ChecksState =
  | { kind: 'none' }
  | { kind: 'running' }
  | { kind: 'done'; results: CheckResult[] }
  | { kind: 'error'; message: string };

const MARK = { pass: '✔', warn: '!', fail: '✘', skip: '-' } as const;
const COLOR = { pass: 'green', warn: 'yellow', fail: 'red', skip: 'gray' } as const;

/** Done: the recap, what to run on the other hosts, and the way to the monitor. */
export function DoneScreen(props: DoneProps) {
  const { recap, active = true } = props;
  const [ask, setAsk] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const failed = recap.failed > 0;
  const [checks, setChecks] = useState<ChecksState>(
    props.runChecks && !failed ? { kind: 'running' } : { kind: 'none' },
  );
  const { runChecks } = props;
  useEffect(() => {
    if (!runChecks || failed) return;
    let live = true;
    runChecks().then(
      (results) => live && setChecks({ kind: 'done', results }),
      (e: unknown) =>
        live && setChecks({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, [runChecks, failed]);
  const save = (path: string, overwrite: boolean) => {
    props.onSaveLab(path, overwrite).then(
      (r) => {
        if (r.status === 'exists') return setAsk(path);
        setAsk(null);
        setMessage(
          r.status === 'saved' ? `Saved ${r.path}.` : `Could not save ${r.path}: ${r.message}`,
        );
      },
      (e: unknown) => setMessage(`Could not save ${path}: ${String(e)}`),
    );
  };
  useKeys(
    (input, key) => {
      if (ask !== null) {
        if (input === 'y' || input === 'Y') save(ask, true);
        else if (input === 'n' || input === 'N' || key.escape || key.return) setAsk(null);
        return;
      }
      if (input === 's' && !props.labPath) return save(props.defaultLabPath, false);
      if (input === 'm') return props.onMonitor();
      if (key.return || input === 'q' || key.escape) return props.onExit();
    },
    { isActive: active },
  );
  const lab = props.labPath ?? props.defaultLabPath;
  return (
    <Box flexDirection="column">
      <Text bold color={failed ? 'red' : 'green'}>
        {`${failed ? 'Stopped at a failed step' : `Host ${props.host} is configured`}: ${recapLine(recap)}`}
      </Text>
      {failed ? (
        <Text>
          Fix the cause shown above and run the wizard (or apply) again: it resumes where it
          stopped.
        </Text>
      ) : null}
      <ChecksView state={checks} />
      {props.otherHosts.length > 0 ? (
        <Box marginTop={1} flexDirection="column">
          <Text bold>{`On the other hosts of the lab (copy ${lab} there first):`}</Text>
          {props.otherHosts.map((h) => (
            <Text key={h.host}>
              {`  ${h.command}`}
              <Text dimColor>{`   # ${h.role}`}</Text>
            </Text>
          ))}
        </Box>
      ) : null}
      {!props.labPath ? (
        <Text color="yellow">{`The lab file is not saved yet: press s to save it as ${props.defaultLabPath}.`}</Text>
      ) : null}
      {ask !== null ? <Text color="yellow">{`${ask} exists. Overwrite it? (y/N)`}</Text> : null}
      {message ? <Text>{message}</Text> : null}
      <Box marginTop={1}>
        <Text>
          {'Watch the director live: '}
          <Text bold>{MONITOR_COMMAND}</Text>
        </Text>
      </Box>
      <Keys>{`m exit and show the monitor command · Enter exit${props.labPath ? '' : ' · s save the lab file'}`}</Keys>
    </Box>
  );
}

/** The doctor's verdict for this host: warnings and failures with their fix, passes counted. */
function ChecksView({ state }: { state: ChecksState }) {
  if (state.kind === 'none') return null;
  if (state.kind === 'running')
    return (
      <Box marginTop={1}>
        <Spinner label="Checking this host for the classic LVS traps (lvs-setup doctor)…" />
      </Box>
    );
  if (state.kind === 'error')
    return (
      <Box marginTop={1}>
        <Text color="yellow">{`The checks could not run: ${state.message}`}</Text>
      </Box>
    );
  const shown = state.results.filter((r) => r.status === 'warn' || r.status === 'fail');
  const passed = state.results.filter((r) => r.status === 'pass').length;
  return (
    <Box marginTop={1} flexDirection="column">
      <Text bold>
        {shown.length === 0
          ? `Checks: all ${passed} relevant checks passed.`
          : `Checks: ${passed} passed, ${shown.length} to look at (hosts not configured yet make some fail):`}
      </Text>
      {shown.map((r) => (
        <Box key={r.id} flexDirection="column">
          <Text>
            <Text color={COLOR[r.status]}>{`  ${MARK[r.status]} ${r.title}`}</Text>
            <Text dimColor>{` [${r.id}]`}</Text>
          </Text>
          <Text>{`    ${r.detail}`}</Text>
          {r.fix ? (
            <Text color="cyan">{`    fix: ${r.fix.split('\n').join('\n         ')}`}</Text>
          ) : null}
        </Box>
      ))}
    </Box>
  );
}
