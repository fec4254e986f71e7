import { Box, Text } from 'ink';
import { useState } from 'react';
import type { LabCandidate } from '../../source/wizard/state.js';
import { useKeys } from './keys.js';
import { Keys } from './components.js';

export interface LoadProps {
  labs: LabCandidate[];
  onUse: (path: string, host: string) => void;
  onEdit: (path: string, host: string) => void;
  onNew: () => void;
  onBack: () => void;
  active?: boolean;
}

type Row =
  { kind: 'use' | 'edit'; path: string; hosts: string[]; matched: boolean } | { kind: 'new' };

/**
 * Load or start: offer the lab file given with --lab or found in this folder, for the host that
 * matches this machine (as `apply` decides); when none matches, ←/→ pick the host.
 */
export function LoadScreen({ labs, onUse, onEdit, onNew, onBack, active = true }: LoadProps) {
  const rows: Row[] = [];
  for (const c of labs) {
    if (!c.lab) continue;
    const matched = c.match?.ok === true;
    const hosts = matched && c.match?.ok ? [c.match.host] : Object.keys(c.lab.file.hosts);
    rows.push({ kind: 'use', path: c.path, hosts, matched });
    rows.push({ kind: 'edit', path: c.path, hosts, matched });
  }
  rows.push({ kind: 'new' });
  const [sel, setSel] = useState(0);
  const [hostIndex, setHostIndex] = useState<Record<string, number>>({});
  const row = rows[Math.min(sel, rows.length - 1)];
  const hostOf = (r: Row) =>
    r.kind === 'new' ? '' : (r.hosts[(hostIndex[r.path] ?? 0) % r.hosts.length] ?? '');

  useKeys(
    (_input, key) => {
      if (key.escape) return onBack();
      if (key.upArrow) return setSel((s) => Math.max(0, s - 1));
      if (key.downArrow) return setSel((s) => Math.min(rows.length - 1, s + 1));
      if (!row) return;
      if ((key.leftArrow || key.rightArrow) && row.kind !== 'new' && !row.matched) {
        const step = key.leftArrow ? -1 : 1;
        setHostIndex((h) => ({
          ...h,
          [row.path]: ((h[row.path] ?? 0) + step + row.hosts.length) % row.hosts.length,
        }));
        return;
      }
      if (key.return) {
        if (row.kind === 'new') return onNew();
        if (row.kind === 'use') return onUse(row.path, hostOf(row));
        return onEdit(row.path, hostOf(row));
      }
    },
    { isActive: active },
  );

  return (
    <Box flexDirection="column">
      {labs.map((c) => (
        <Box key={c.path} flexDirection="column" marginBottom={1}>
          <Text>
            <Text bold>{c.path}</Text>
            {c.given ? ' (--lab)' : ' (found in this folder)'}
            {c.lab
              ? ` — lab ${c.lab.file.name}, hosts: ${Object.keys(c.lab.file.hosts).join(', ')}`
              : ''}
          </Text>
          {c.problem ? (
            <Text color="red">{c.problem}</Text>
          ) : c.match?.ok ? (
            <Text color="green">{`This machine is host ${c.match.host} (${c.match.how}).`}</Text>
          ) : (
            <Text color="yellow">
              {`No host of this lab matches this machine by address or MAC: pick one with ←/→.`}
            </Text>
          )}
        </Box>
      ))}
      {rows.map((r, i) => {
        const focused = i === sel;
        const text =
          r.kind === 'new'
            ? 'Start a new lab (answer the questions)'
            : r.kind === 'use'
              ? `Use ${r.path} as host ${r.matched ? hostOf(r) : `‹ ${hostOf(r)} ›`}: straight to the review`
              : `Start from ${r.path}'s answers for host ${r.matched ? hostOf(r) : `‹ ${hostOf(r)} ›`} and change them`;
        return (
          <Text
            key={`${r.kind}:${r.kind === 'new' ? '' : r.path}`}
            color={focused ? 'cyan' : undefined}
          >
            {`${focused ? '›' : ' '} ${text}`}
          </Text>
        );
      })}
      {row && row.kind === 'edit' ? (
        <Text dimColor>
          {
            '  only what the wizard asks is kept: other services, clients and custom checks are dropped'
          }
        </Text>
      ) : null}
      <Keys>↑↓ select · Enter choose · Esc back · Ctrl-C quit</Keys>
    </Box>
  );
}
