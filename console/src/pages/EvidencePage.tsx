import { useState } from 'react';
import { Badge, Button, Card, Group, Select, Stack, Switch, Table, Text, Title } from '@mantine/core';
import { api, download } from '../api';
import { can, Failure, Loading, useApi, RowsTable } from './common';
import type { PageProps } from './common';

/** The evidence module's HTTP contract (issue 16; docs/console.md). */
interface Box {
  readonly id: string;
  readonly title: string;
  readonly status: 'pass' | 'fail' | 'not_configured';
  readonly why: string;
  readonly file: string;
}
interface Checklist {
  readonly generated_at: string;
  readonly bundle_hash: string;
  readonly boxes: readonly Box[];
}
interface PackSummary {
  readonly id: string;
  readonly framework: string;
  readonly created_at: string;
  readonly manifest_sha256: string;
}
interface Pack extends Omit<PackSummary, 'created_at'> {
  readonly files: readonly string[];
}

const FRAMEWORKS = ['soc2', 'hipaa', 'pci', 'gdpr', 'euaiact', 'nist'];
// Dark enough for white badge text (WCAG AA, checked by axe in the browser test).
const BOX_COLORS: Record<Box['status'], string> = { pass: '#1b5e20', fail: '#b71c1c', not_configured: '#495057' };

export function EvidencePage({ me }: PageProps) {
  const checklist = useApi<Checklist>('/v1/evidence/checklist');
  const packs = useApi<{ packs: PackSummary[] }>('/v1/evidence/packs');
  const [framework, setFramework] = useState<string | null>('soc2');
  const [liveTests, setLiveTests] = useState(false);
  const [made, setMade] = useState<Pack | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  // A pack is written to the server's evidence dir: an action, so not the read-only auditor's.
  const mayGenerate = can(me, 'security', 'admin');

  async function generate(): Promise<void> {
    setBusy(true);
    setError(undefined);
    try {
      setMade(await api<Pack>('/v1/evidence/packs', { method: 'POST', body: { framework, live_tests: liveTests } }));
      packs.reload();
      checklist.reload();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }
  const file = (pack: string, path: string) => `/v1/evidence/file?pack=${encodeURIComponent(pack)}&path=${encodeURIComponent(path)}`;

  return (
    <Stack>
      <Title order={1}>Evidence</Title>
      <Loading loading={checklist.loading} />
      <Failure error={checklist.error} />
      {checklist.data && (
        <Card withBorder>
          <Title order={2} size="h3">
            Checklist ({checklist.data.boxes.filter((b) => b.status === 'pass').length} of {checklist.data.boxes.length} pass)
          </Title>
          <div className="grid grid-4 spaced">
            {checklist.data.boxes.map((b) => (
              <Card withBorder key={b.id} data-testid="evidence-box">
                <Group justify="space-between">
                  <Text fw={700}>{b.title}</Text>
                  <Badge color={BOX_COLORS[b.status]}>{b.status.replace('_', ' ')}</Badge>
                </Group>
                <Text size="sm">{b.why}</Text>
              </Card>
            ))}
          </div>
        </Card>
      )}
      <Card withBorder>
        <Title order={2} size="h3">
          Evidence packs
        </Title>
        {mayGenerate && (
          <Group align="end">
            <Select label="framework" data={FRAMEWORKS} value={framework} onChange={setFramework} />
            {can(me, 'admin') && <Switch label="Run live control tests" checked={liveTests} onChange={(e) => setLiveTests(e.currentTarget.checked)} />}
            <Button loading={busy} disabled={!framework} onClick={() => void generate()}>
              Generate pack
            </Button>
          </Group>
        )}
        <Failure error={error ?? packs.error} />
        {made && (
          <Stack gap="xs" mt="sm" data-testid="pack-made">
            <Text>
              Pack {made.id} ({made.framework}), manifest sha256 <span className="mono">{made.manifest_sha256}</span>
            </Text>
            <Group gap="xs">
              {made.files.map((f) => (
                <Button key={f} size="xs" variant="outline" onClick={() => void download(file(made.id, f), f.split('/').pop() ?? f).catch(setError)}>
                  {f}
                </Button>
              ))}
            </Group>
          </Stack>
        )}
        <RowsTable headers={['pack', 'framework', 'created', 'manifest sha256', '']} mt="sm">
          {packs.data?.packs.map((p) => (
            <Table.Tr key={p.id}>
              <Table.Td>{p.id}</Table.Td>
              <Table.Td>{p.framework}</Table.Td>
              <Table.Td>{p.created_at}</Table.Td>
              <Table.Td className="mono">{p.manifest_sha256}</Table.Td>
              <Table.Td>
                <Button size="xs" variant="outline" onClick={() => void download(file(p.id, 'report.html'), `${p.id}-report.html`).catch(setError)}>
                  Download report
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </RowsTable>
      </Card>
    </Stack>
  );
}
