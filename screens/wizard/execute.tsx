import { Box, Static, Text } from 'ink';
import {
  formatElapsed,
  recapLine,
  type ExecState,
  type FinishedStep,
} from '../../source/wizard/exec-state.js';
import { useKeys } from './keys.js';
import { Keys, Spinner, useTick } from './components.js';

export interface ExecuteProps {
  state: ExecState;
  /** Ctrl-C was pressed: no new command starts. */
  interrupting: boolean;
  onContinue: () => void;
  active?: boolean;
  /** For tests: a fixed clock. */
  now?: number;
}

function FinishedLine({ s, total }: { s: FinishedStep; total: number }) {
  const n = `[${s.index + 1}/${total}]`;
  if (s.status === 'ok')
    return (
      <Text>
        <Text color="green">{'✔ '}</Text>
        <Text dimColor>{`${n} ${s.title}: ok (${s.detail})`}</Text>
      </Text>
    );
  if (s.status === 'changed')
    return (
      <Text>
        <Text color="yellow">{'~ '}</Text>
        {`${n} ${s.title}: changed`}
        <Text dimColor>{` (${(s.durationMs / 1000).toFixed(1)} s)`}</Text>
      </Text>
    );
  return <Text color="red">{`✘ ${n} ${s.title}: FAILED`}</Text>;
}

/**
 * Execute: finished steps printed once above (Ink's <Static>), the running one with a spinner, its
 * command and the live tail of its output, the elapsed time; on failure the command, its stderr,
 * what to do, and that re-running resumes.
 */
export function ExecuteScreen({
  state,
  interrupting,
  onContinue,
  active = true,
  now,
}: ExecuteProps) {
  const tick = useTick(250, state.recap === null && now === undefined);
  const clock = now ?? tick;
  useKeys(
    (_input, key) => {
      if (key.return && state.recap) onContinue();
    },
    { isActive: active },
  );
  const r = state.running;
  return (
    <Box flexDirection="column">
      <Static items={state.finished}>
        {(s) => <FinishedLine key={s.index} s={s} total={state.total} />}
      </Static>
      {r ? (
        <Box flexDirection="column">
          <Spinner
            label={`[${r.index + 1}/${state.total}] ${r.title}  ${formatElapsed(clock - r.startedAt)}`}
          />
          {r.action ? <Text dimColor>{`    ${r.action}`}</Text> : null}
          {[...r.tail, ...(r.partial ? [r.partial] : [])].slice(-6).map((l, i) => (
            <Text key={i} dimColor wrap="truncate-end">{`    │ ${l}`}</Text>
          ))}
        </Box>
      ) : null}
      {state.failure ? (
        <Box flexDirection="column" marginTop={1}>
          <Text color="red" bold>{`✘ ${state.failure.title} failed`}</Text>
          <Text>{`  command: ${state.failure.command}`}</Text>
          <Text>{`  exit ${state.failure.exitCode}${state.failure.timedOut ? ' (timed out)' : ''}`}</Text>
          {state.failure.stderr
            .split('\n')
            .slice(-10)
            .map((l, i) => (
              <Text key={i} color="red">{`  │ ${l}`}</Text>
            ))}
          <Text>{`  What to do: ${state.failure.hint}`}</Text>
          <Text>
            {
              '  Re-running resumes: steps already done report "already ok". `lvs-setup undo` reverses this run.'
            }
          </Text>
        </Box>
      ) : null}
      {state.crash ? <Text color="red">{`✘ ${state.crash}`}</Text> : null}
      <Box marginTop={1} flexDirection="column">
        {state.startedAt !== null ? (
          <Text dimColor>
            {`${state.finished.length}/${state.total} steps · ${formatElapsed(clock - state.startedAt)}${state.logPath ? ` · log: ${state.logPath}` : ''}`}
          </Text>
        ) : (
          <Spinner label="Starting…" />
        )}
        {interrupting && !state.recap ? (
          <Text color="yellow">
            Ctrl-C: stopping after the running command (nothing is left half-written). Ctrl-C again
            quits at once.
          </Text>
        ) : null}
        {state.recap ? (
          <>
            <Text bold color={state.recap.failed > 0 ? 'red' : 'green'}>
              {recapLine(state.recap)}
            </Text>
            <Keys>Enter continue</Keys>
          </>
        ) : null}
      </Box>
    </Box>
  );
}
