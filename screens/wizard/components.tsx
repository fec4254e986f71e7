import { Box, Text } from 'ink';
import { useEffect, useState, type ReactNode } from 'react';

/** Small building blocks shared by the wizard's screens. */

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function Spinner({ label }: { label: string }) {
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setFrame((f) => (f + 1) % FRAMES.length), 80);
    return () => clearInterval(t);
  }, []);
  return (
    <Text>
      <Text color="cyan">{FRAMES[frame]}</Text> {label}
    </Text>
  );
}

/** Re-renders every `ms` so elapsed times move. */
export function useTick(ms: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms, active]);
  return now;
}

export interface HeaderProps {
  title: string;
  step?: { index: number; total: number };
  dryRun: boolean;
}

export function Header({ title, step, dryRun }: HeaderProps) {
  return (
    <Box marginBottom={1}>
      <Text bold color="cyan">
        lvs-setup
      </Text>
      <Text> · </Text>
      {step ? <Text dimColor>{`${step.index}/${step.total} `}</Text> : null}
      <Text bold>{title}</Text>
      {dryRun ? <Text color="yellow"> · dry run (nothing changes)</Text> : null}
    </Box>
  );
}

export function Keys({ children }: { children: ReactNode }) {
  return (
    <Box marginTop={1}>
      <Text dimColor>{children}</Text>
    </Box>
  );
}

export function Warning({ level, children }: { level: 'warn' | 'error'; children: ReactNode }) {
  return (
    <Text color={level === 'error' ? 'red' : 'yellow'}>
      {level === 'error' ? '✘ ' : '! '}
      {children}
    </Text>
  );
}

export function Lines({
  lines,
  dim,
  truncate,
}: {
  lines: string[];
  dim?: boolean;
  truncate?: boolean;
}) {
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Text key={i} dimColor={dim} {...(truncate ? { wrap: 'truncate-end' as const } : {})}>
          {l === '' ? ' ' : l}
        </Text>
      ))}
    </Box>
  );
}
