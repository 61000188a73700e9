import { useEffect, useState } from 'react';
import { Alert, Badge, Button, Center, Group, Loader, NavLink, Stack, Text, Title } from '@mantine/core';
import { ApiError, api } from './api';
import type { Me } from './api';
import { completeSignIn, currentToken, loadClientConfig, signIn, signOut } from './auth';
import type { ClientConfig } from './auth';
import { AuditPage } from './pages/AuditPage';
import { LivePage } from './pages/LivePage';
import { AlertsPage } from './pages/AlertsPage';
import { InventoryPage } from './pages/InventoryPage';
import { PolicyPage } from './pages/PolicyPage';
import { ReviewsPage } from './pages/ReviewsPage';
import { EvidencePage } from './pages/EvidencePage';

const PAGES = [
  { id: 'audit', label: 'Audit explorer', Page: AuditPage },
  { id: 'live', label: 'Live view', Page: LivePage },
  { id: 'alerts', label: 'Alerts', Page: AlertsPage },
  { id: 'inventory', label: 'Inventory', Page: InventoryPage },
  { id: 'policy', label: 'Policy', Page: PolicyPage },
  { id: 'reviews', label: 'Reviews', Page: ReviewsPage },
  { id: 'evidence', label: 'Evidence', Page: EvidencePage },
] as const;

function useHashPage(): string {
  const read = () => window.location.hash.replace(/^#\/?/, '') || 'audit';
  const [page, setPage] = useState(read);
  useEffect(() => {
    const on = () => setPage(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return page;
}

type State = { phase: 'loading' } | { phase: 'signed-out'; config: ClientConfig } | { phase: 'ready'; me: Me } | { phase: 'error'; message: string };

export function App() {
  const [state, setState] = useState<State>({ phase: 'loading' });
  const page = useHashPage();
  useEffect(() => {
    void (async () => {
      try {
        const config = await loadClientConfig();
        await completeSignIn(config);
        if (!currentToken()) return setState({ phase: 'signed-out', config });
        setState({ phase: 'ready', me: await api<Me>('/v1/console/me') });
      } catch (err) {
        const message =
          err instanceof ApiError && err.status === 403 ? 'Your account has no console role (admin, security or auditor).' : String((err as Error).message);
        setState({ phase: 'error', message });
      }
    })();
  }, []);

  if (state.phase === 'loading')
    return (
      <Center h="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  if (state.phase === 'signed-out')
    return (
      <main>
        <Center h="100vh">
          <Stack align="center">
            <Title order={1}>Custos console</Title>
            <Text>Sign in with your organisation&apos;s identity provider.</Text>
            <Button onClick={() => void signIn(state.config)}>Sign in</Button>
          </Stack>
        </Center>
      </main>
    );
  if (state.phase === 'error')
    return (
      <main>
        <Center h="100vh">
          <Stack align="center">
            <Title order={1}>Custos console</Title>
            <Alert color="red" title="Cannot open the console" role="alert">
              {state.message}
            </Alert>
            <Button onClick={signOut}>Sign in again</Button>
          </Stack>
        </Center>
      </main>
    );

  const { me } = state;
  const current = PAGES.find((p) => p.id === page) ?? PAGES[0];
  return (
    <div className="shell">
      <header className="shell-header">
        <Title order={2} size="h4">
          Custos console
        </Title>
        <Group>
          <Text size="sm" data-testid="whoami">
            {me.email ?? me.sub}
          </Text>
          {me.roles.map((r) => (
            <Badge key={r} data-testid="role">
              {r}
            </Badge>
          ))}
          <Button variant="outline" size="xs" onClick={signOut}>
            Sign out
          </Button>
        </Group>
      </header>
      <nav className="shell-nav" aria-label="Pages">
        {PAGES.map((p) => (
          <NavLink key={p.id} href={`#/${p.id}`} label={p.label} active={p.id === current.id} aria-current={p.id === current.id ? 'page' : undefined} />
        ))}
      </nav>
      <main className="shell-main">
        <current.Page me={me} />
      </main>
    </div>
  );
}
