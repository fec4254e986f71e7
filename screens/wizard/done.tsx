import { Box, Text } from 'ink';
import { useState } from 'react';
import type { Recap } from '../../source/executor.js';
import { recapLine } from '../../source/wizard/exec-state.js';
import type { SaveResult } from '../../source/wizard/services.js';
import { MONITOR_COMMAND, type HostCommand } from '../../source/wizard/summary.js';
import { useKeys } from './keys.js';
import { Keys } from './components.js';

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
  active?: boolean;
}

/** Done: the recap, what to run on the other hosts, and the way to the monitor. */
export function DoneScreen(props: DoneProps) {
  const { recap, active = true } = props;
  const [ask, setAsk] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
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
  const failed = recap.failed > 0;
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
