import '@mantine/core/styles.css';
import './console.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createTheme, MantineProvider } from '@mantine/core';
import { App } from './App';

// Darker shades than Mantine's default: text on filled controls keeps a 4.5:1 contrast (axe).
const theme = createTheme({ primaryColor: 'blue', primaryShade: 9 });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    {/* No inline <style> from Mantine: its variables and classes come from styles.css (the CSP allows stylesheets from self only). */}
    <MantineProvider theme={theme} forceColorScheme="light" withCssVariables={false} withGlobalClasses={false}>
      <App />
    </MantineProvider>
  </StrictMode>,
);
