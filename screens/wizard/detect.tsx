import { Box, Text } from 'ink';
import type { HostFacts, SystemFacts } from '../../source/facts/types.js';
import { hostSummary, nicRows, type DetectWarning } from '../../source/wizard/host-view.js';
import { useKeys } from './keys.js';
import { DETECT_SPINNER } from './boot.js';
import { Keys, Spinner, Warning } from './components.js';

export interface DetectProps {
  facts: HostFacts | null;
  /** The hardware summary: undefined while it is read, null when it could not be. */
  system?: SystemFacts | null;
  warnings: DetectWarning[];
  /** Reading the host failed: the message. */
  error?: string | null;
  onContinue: () => void;
  active?: boolean;
}

/** Detect: a spinner while the facts are read, then what this host is. */
export function DetectScreen({
  facts,
  system,
  warnings,
  error,
  onContinue,
  active = true,
}: DetectProps) {
  useKeys(
    (_input, key) => {
      if (key.return && facts) onContinue();
    },
    { isActive: active },
  );
  if (error) return <Warning level="error">Could not read this host: {error}</Warning>;
  if (!facts) return <Spinner label={DETECT_SPINNER} />;
  const rows = nicRows(facts);
  const s = hostSummary(facts);
  const w = {
    name: Math.max(4, ...rows.map((r) => r.name.length + 2)),
    state: Math.max(5, ...rows.map((r) => r.state.length)),
    addr: Math.max(9, ...rows.map((r) => r.addresses.length)),
  };
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>{facts.hostname || 'this host'}</Text>
        {` — ${s.distro}, kernel ${facts.kernel}`}
      </Text>
      <Box marginTop={1} flexDirection="column">
        <Text bold>
          {`  ${'NIC'.padEnd(w.name)}  ${'STATE'.padEnd(w.state)}  ${'ADDRESSES'.padEnd(w.addr)}  MAC`}
        </Text>
        {rows.map((r) => (
          <Text key={r.name}>
            {`  ${`${r.name}${r.defaultRoute ? ' *' : ''}`.padEnd(w.name)}  ${r.state.padEnd(w.state)}  ${r.addresses.padEnd(w.addr)}  ${r.mac}`}
          </Text>
        ))}
        <Text dimColor>
          {facts.routes.defaultDev
            ? `  * default route${facts.routes.defaultGateway ? ` via ${facts.routes.defaultGateway}` : ''}`
            : '  no default route yet'}
        </Text>
      </Box>
      <Box marginTop={1} flexDirection="column">
        <Text>{`packages:    ${s.packageManager}`}</Text>
        <Text>{`IPVS:        ${s.ipvs}`}</Text>
        <Text>{`ipvsadm:     ${s.ipvsadm}`}</Text>
        <Text>{`keepalived:  ${s.keepalived}`}</Text>
        <Text>{`node:        ${s.node}`}</Text>
        <Text>{`hardware:    ${hardwareLine(system)}`}</Text>
      </Box>
      {warnings.length > 0 ? (
        <Box marginTop={1} flexDirection="column">
          {warnings.map((x) => (
            <Warning key={x.text} level={x.level}>
              {x.text}
            </Warning>
          ))}
        </Box>
      ) : null}
      <Keys>Enter continue · Ctrl-C quit</Keys>
    </Box>
  );
}

/** `x86_64, 2 cores, 3.8 GiB memory`; `reading…` while systeminformation runs. */
export function hardwareLine(system: SystemFacts | null | undefined): string {
  if (system === undefined) return 'reading…';
  if (system === null) return 'unknown (could not be read)';
  const gib = system.memoryMiB / 1024;
  return `${system.arch}, ${system.cores} core${system.cores === 1 ? '' : 's'}, ${gib >= 10 ? gib.toFixed(0) : gib.toFixed(1)} GiB memory`;
}
