import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyPaths } from './classify.js';
import { FILE_KINDS, fileKindsOf } from './file-kinds.js';
import { resolveCallPath } from './resolve-path.js';

/** One example path per kind (home-relative), and look-alikes that are not credentials. */
const EXAMPLES: Record<string, string> = {
  'aws-credentials': '/home/u/.aws/credentials',
  'aws-sso-cache': '/home/u/.aws/sso/cache/abc.json',
  'gcloud-credentials': '/home/u/.config/gcloud/application_default_credentials.json',
  'gcp-service-account-key': '/srv/app/prod-service-account.json',
  'azure-cli-tokens': '/home/u/.azure/msal_token_cache.json',
  'oci-config': '/home/u/.oci/config',
  'doctl-config': '/home/u/.config/doctl/config.yaml',
  'terraform-credentials': '/repo/infra/terraform.tfstate',
  's3cmd-config': '/home/u/.s3cfg',
  'rclone-config': '/home/u/.config/rclone/rclone.conf',
  'cloudflare-wrangler': '/home/u/.wrangler/config/default.toml',
  'flyctl-config': '/home/u/.fly/config.yml',
  'firebase-tools': '/home/u/.config/configstore/firebase-tools.json',
  'vercel-auth': '/home/u/.local/share/com.vercel.cli/auth.json',
  netrc: '/home/u/.netrc',
  'git-credentials': '/home/u/.git-credentials',
  'gh-cli-hosts': '/home/u/.config/gh/hosts.yml',
  npmrc: '/home/u/.npmrc',
  pypirc: '/home/u/.pypirc',
  'gem-credentials': '/home/u/.gem/credentials',
  'cargo-credentials': '/home/u/.cargo/credentials.toml',
  'nuget-config': '/repo/NuGet.Config',
  'maven-settings': '/home/u/.m2/settings.xml',
  'gradle-properties': '/home/u/.gradle/gradle.properties',
  'composer-auth': '/home/u/.composer/auth.json',
  'docker-config': '/home/u/.docker/config.json',
  'container-auth': '/home/u/.config/containers/auth.json',
  kubeconfig: '/home/u/.kube/config',
  'helm-repositories': '/home/u/.config/helm/repositories.yaml',
  'ssh-private-key': '/home/u/.ssh/id_ed25519',
  'ssh-directory': '/home/u/.ssh/deploy_key',
  'ssh-host-key': '/etc/ssh/ssh_host_rsa_key',
  'tls-private-key': '/etc/nginx/tls/server.key',
  'gpg-private-keys': '/home/u/.gnupg/private-keys-v1.d/ABC.key',
  'env-file': '/repo/.env.production',
  'app-secrets': '/repo/config/master.key',
  pgpass: '/home/u/.pgpass',
  'mysql-config': '/home/u/.my.cnf',
  'vault-token': '/home/u/.vault-token',
  'pass-store': '/home/u/.password-store/bank/login.gpg',
  'keepass-database': '/home/u/Documents/vault.kdbx',
  'os-keyring': '/home/u/.local/share/keyrings/login.keyring',
  htpasswd: '/srv/www/.htpasswd',
  'chromium-profile': '/home/u/.config/google-chrome/Default/Login Data',
  'firefox-profile': '/home/u/.mozilla/firefox/x.default/logins.json',
  'shell-history': '/home/u/.bash_history',
  'unix-shadow': '/etc/shadow',
  kerberos: '/tmp/krb5cc_1000',
  'vpn-config': '/home/u/work.ovpn',
  'sops-age-keys': '/home/u/.config/sops/age/keys.txt',
};

describe('credential file kinds', () => {
  it('knows at least 40 kinds, each with an example here', () => {
    expect(FILE_KINDS.length).toBeGreaterThanOrEqual(40);
    expect(Object.keys(EXAMPLES).sort()).toEqual(FILE_KINDS.map((k) => k.id).sort());
  });
  it.each(Object.entries(EXAMPLES))('%s: %s', (id, p) => {
    expect(fileKindsOf(p).map((k) => k.id)).toContain(id);
  });
  it.each([
    '/home/u/.ssh/id_ed25519.pub',
    '/home/u/.ssh/known_hosts',
    '/repo/.env.example',
    '/repo/src/index.ts',
    '/repo/README.md',
    '/home/u/.aws/config',
    '/repo/docs/keys.md',
  ])('%s is not a credential file', (p) => {
    expect(fileKindsOf(p)).toEqual([]);
  });
});

describe('paths resolved after symlinks and .. against the upstream root', () => {
  let dir: string;
  let root: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'custos-resolve-'));
    root = path.join(dir, 'workspace');
    mkdirSync(path.join(dir, 'home/.aws'), { recursive: true });
    mkdirSync(path.join(root, 'phi'), { recursive: true });
    writeFileSync(path.join(dir, 'home/.aws/credentials'), '[default]\n');
    writeFileSync(path.join(root, 'phi/note.md'), 'x');
    symlinkSync(path.join(dir, 'home/.aws/credentials'), path.join(root, 'notes.txt'));
    symlinkSync(path.join(root, 'phi'), path.join(root, 'public'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a symlink in the workspace to ~/.aws/credentials is a cloud credential', () => {
    expect(classifyPaths([path.join(root, 'notes.txt')])).toEqual(['cloud_credentials', 'secret_file']);
    expect(classifyPaths(['notes.txt'], [], { roots: [root] })).toEqual(['cloud_credentials', 'secret_file']);
  });

  it('a linked directory into phi/ carries the phi class, also for a file not yet written', () => {
    const rules = [{ dataClass: 'phi', paths: ['**/phi/**'] }];
    expect(classifyPaths(['public/note.md'], rules, { roots: [root] })).toEqual(['phi']);
    expect(classifyPaths([path.join(root, 'public/new-file.md')], rules)).toEqual(['phi']);
  });

  it('what a path is worked out once, but where it leads is asked at every call: a link re-pointed into phi/ is phi at the next call', () => {
    const rules = [{ dataClass: 'phi', paths: ['**/phi/**'] }];
    mkdirSync(path.join(root, 'plain'), { recursive: true });
    symlinkSync(path.join(root, 'plain'), path.join(root, 'moving'));
    expect(classifyPaths(['moving/chart.md'], rules, { roots: [root] })).toEqual([]);
    expect(classifyPaths(['moving/chart.md'], rules, { roots: [root] })).toEqual([]); // now remembered
    unlinkSync(path.join(root, 'moving'));
    symlinkSync(path.join(root, 'phi'), path.join(root, 'moving'));
    expect(classifyPaths(['moving/chart.md'], rules, { roots: [root] })).toEqual(['phi']);
    unlinkSync(path.join(root, 'moving'));
    symlinkSync(path.join(dir, 'home/.aws/credentials'), path.join(root, 'moving'));
    expect(classifyPaths(['moving'], rules, { roots: [root] })).toEqual(['cloud_credentials', 'secret_file']);
  });

  it("a new bundle's rules classify the same path anew (each rules array has its own memo)", () => {
    const file = path.join(root, 'phi/note.md');
    expect(classifyPaths([file], [{ dataClass: 'phi', paths: ['**/phi/**'] }])).toEqual(['phi']);
    expect(classifyPaths([file], [{ dataClass: 'restricted', paths: ['**/note.md'] }])).toEqual(['restricted']);
    expect(classifyPaths([file], [])).toEqual([]);
  });

  it('.. is folded before the disk is asked, and a relative path without a root stays lexical', () => {
    expect(resolveCallPath('a/../notes.txt', root)).toContain(path.join(dir, 'home/.aws/credentials'));
    expect(resolveCallPath('notes.txt')).toEqual(['notes.txt']);
  });
});
