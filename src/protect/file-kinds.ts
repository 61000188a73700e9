/**
 * Credential and key files by kind: 50 kinds, each with the data class it puts on a call
 * (`secret_file` always, plus a family class such as `cloud_credentials` or `ssh_key` that
 * a policy can match on). Matched against a normalised, case-folded path: base names,
 * path suffixes, directories anywhere on the path, extensions, base-name patterns.
 */
import { remembered } from './memo.js';

export interface FileKind {
  readonly id: string;
  /** The family data class, beside `secret_file`. */
  readonly dataClass: string;
  readonly names?: readonly string[];
  /** Path suffixes (`.aws/credentials`): the path ends with `/SUFFIX` or is it. */
  readonly suffixes?: readonly string[];
  /** A directory anywhere on the path (`.password-store`): every file under it. */
  readonly dirs?: readonly string[];
  readonly extensions?: readonly string[];
  readonly pattern?: RegExp;
  /** Base names that look like the kind but are not (`id_rsa.pub`, `.env.example`). */
  readonly except?: RegExp;
}

const CLOUD = 'cloud_credentials';
const REGISTRY = 'package_registry_credentials';
const VCS = 'vcs_credentials';
const SSH = 'ssh_key';
const TLS = 'tls_key';
const KUBE = 'kube_config';
const VAULT = 'password_store';
const BROWSER = 'browser_profile';
const ENV = 'env_file';
const DB = 'database_credentials';
const CONTAINER = 'container_credentials';
const HISTORY = 'shell_history';
const SYSTEM = 'system_credentials';

export const FILE_KINDS: readonly FileKind[] = [
  { id: 'aws-credentials', dataClass: CLOUD, suffixes: ['.aws/credentials'] },
  { id: 'aws-sso-cache', dataClass: CLOUD, dirs: ['.aws/sso/cache', '.aws/cli/cache'] },
  {
    id: 'gcloud-credentials',
    dataClass: CLOUD,
    suffixes: ['.config/gcloud/credentials.db', '.config/gcloud/access_tokens.db', '.config/gcloud/application_default_credentials.json'],
    dirs: ['.config/gcloud/legacy_credentials'],
  },
  {
    id: 'gcp-service-account-key',
    dataClass: CLOUD,
    names: ['credentials.json', 'service-account.json', 'service_account.json', 'keyfile.json'],
    pattern: /(?:^|[-_.])(?:service[-_]?account|sa[-_]key)[^/]*\.json$/,
  },
  {
    id: 'azure-cli-tokens',
    dataClass: CLOUD,
    suffixes: ['.azure/accesstokens.json', '.azure/msal_token_cache.json', '.azure/msal_token_cache.bin', '.azure/service_principal_entries.json'],
  },
  { id: 'oci-config', dataClass: CLOUD, suffixes: ['.oci/config'] },
  { id: 'doctl-config', dataClass: CLOUD, suffixes: ['.config/doctl/config.yaml'] },
  {
    id: 'terraform-credentials',
    dataClass: CLOUD,
    suffixes: ['.terraform.d/credentials.tfrc.json'],
    names: ['terraform.tfstate', 'terraform.tfstate.backup'],
    extensions: ['.tfvars'],
  },
  { id: 's3cmd-config', dataClass: CLOUD, names: ['.s3cfg', '.boto', '.passwd-s3fs'] },
  { id: 'rclone-config', dataClass: CLOUD, suffixes: ['.config/rclone/rclone.conf'] },
  { id: 'cloudflare-wrangler', dataClass: CLOUD, suffixes: ['.wrangler/config/default.toml', '.config/.wrangler/config/default.toml'] },
  { id: 'flyctl-config', dataClass: CLOUD, suffixes: ['.fly/config.yml'] },
  { id: 'firebase-tools', dataClass: CLOUD, suffixes: ['.config/configstore/firebase-tools.json'] },
  { id: 'vercel-auth', dataClass: CLOUD, suffixes: ['com.vercel.cli/auth.json', '.vercel/auth.json'] },
  { id: 'netrc', dataClass: VCS, names: ['.netrc', '_netrc'] },
  { id: 'git-credentials', dataClass: VCS, names: ['.git-credentials'], suffixes: ['.config/git/credentials'] },
  { id: 'gh-cli-hosts', dataClass: VCS, suffixes: ['.config/gh/hosts.yml', '.config/glab-cli/config.yml', '.config/hub'] },
  { id: 'npmrc', dataClass: REGISTRY, names: ['.npmrc', '.yarnrc.yml', '.yarnrc'] },
  { id: 'pypirc', dataClass: REGISTRY, names: ['.pypirc'], suffixes: ['.config/pip/pip.conf', '.pip/pip.conf'] },
  { id: 'gem-credentials', dataClass: REGISTRY, suffixes: ['.gem/credentials'] },
  { id: 'cargo-credentials', dataClass: REGISTRY, suffixes: ['.cargo/credentials', '.cargo/credentials.toml'] },
  { id: 'nuget-config', dataClass: REGISTRY, names: ['nuget.config'] },
  { id: 'maven-settings', dataClass: REGISTRY, suffixes: ['.m2/settings.xml', '.m2/settings-security.xml'] },
  { id: 'gradle-properties', dataClass: REGISTRY, suffixes: ['.gradle/gradle.properties'] },
  { id: 'composer-auth', dataClass: REGISTRY, suffixes: ['.composer/auth.json', '.config/composer/auth.json'] },
  { id: 'docker-config', dataClass: CONTAINER, suffixes: ['.docker/config.json'] },
  { id: 'container-auth', dataClass: CONTAINER, suffixes: ['containers/auth.json'] },
  { id: 'kubeconfig', dataClass: KUBE, names: ['kubeconfig'], suffixes: ['.kube/config'], extensions: ['.kubeconfig'] },
  { id: 'helm-repositories', dataClass: KUBE, suffixes: ['.config/helm/repositories.yaml'] },
  { id: 'ssh-private-key', dataClass: SSH, pattern: /^id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?(?:[-_.][^/]*)?$/, extensions: ['.ppk'], except: /\.pub$/ },
  { id: 'ssh-directory', dataClass: SSH, dirs: ['.ssh'], except: /(?:\.pub|^known_hosts(?:\.old)?|^config|^authorized_keys2?)$/ },
  { id: 'ssh-host-key', dataClass: SSH, pattern: /^ssh_host_[a-z0-9]+_key$/ },
  { id: 'tls-private-key', dataClass: TLS, extensions: ['.key', '.pem', '.p12', '.pfx', '.p8', '.jks', '.keystore'] },
  { id: 'gpg-private-keys', dataClass: TLS, dirs: ['.gnupg/private-keys-v1.d'], names: ['secring.gpg'] },
  { id: 'env-file', dataClass: ENV, names: ['.env', '.envrc'], pattern: /^\.env\.[^/]+$/, except: /^\.env\.(?:example|sample|template|dist|defaults)$/ },
  {
    id: 'app-secrets',
    dataClass: ENV,
    names: [
      'secrets.yml',
      'secrets.yaml',
      'secrets.json',
      'secrets.toml',
      'master.key',
      'credentials.yml.enc',
      'wp-config.php',
      'local.settings.json',
      'appsettings.secrets.json',
    ],
  },
  { id: 'pgpass', dataClass: DB, names: ['.pgpass'] },
  { id: 'mysql-config', dataClass: DB, names: ['.my.cnf', '.mylogin.cnf'] },
  { id: 'vault-token', dataClass: VAULT, names: ['.vault-token'] },
  { id: 'pass-store', dataClass: VAULT, dirs: ['.password-store'] },
  { id: 'keepass-database', dataClass: VAULT, extensions: ['.kdbx', '.kdb', '.opvault', '.agilekeychain'] },
  { id: 'os-keyring', dataClass: VAULT, dirs: ['.local/share/keyrings', 'library/keychains'], extensions: ['.keychain', '.keychain-db', '.keyring'] },
  { id: 'htpasswd', dataClass: VAULT, names: ['.htpasswd'] },
  {
    id: 'chromium-profile',
    dataClass: BROWSER,
    names: ['login data', 'cookies', 'web data', 'login data for account'],
    dirs: [
      '.config/google-chrome',
      '.config/chromium',
      '.config/microsoft-edge',
      '.config/bravesoftware',
      'library/application support/google/chrome',
      'appdata/local/google/chrome/user data',
    ],
  },
  {
    id: 'firefox-profile',
    dataClass: BROWSER,
    names: ['logins.json', 'key4.db', 'key3.db', 'cookies.sqlite', 'cert9.db'],
    dirs: ['.mozilla/firefox', 'library/application support/firefox', 'appdata/roaming/mozilla/firefox'],
  },
  {
    id: 'shell-history',
    dataClass: HISTORY,
    names: [
      '.bash_history',
      '.zsh_history',
      '.history',
      '.sh_history',
      '.psql_history',
      '.mysql_history',
      '.python_history',
      '.node_repl_history',
      '.rediscli_history',
      '.sqlite_history',
      '.lesshst',
    ],
  },
  { id: 'unix-shadow', dataClass: SYSTEM, suffixes: ['etc/shadow', 'etc/gshadow', 'etc/shadow-', 'etc/security/opasswd'] },
  { id: 'kerberos', dataClass: SYSTEM, extensions: ['.keytab'], pattern: /^krb5cc_[^/]+$/ },
  { id: 'vpn-config', dataClass: SYSTEM, extensions: ['.ovpn'], dirs: ['etc/wireguard'] },
  { id: 'sops-age-keys', dataClass: SYSTEM, suffixes: ['.config/sops/age/keys.txt', '.age/keys.txt'] },
];

function matches(kind: FileKind, lower: string, base: string): boolean {
  if (kind.except?.test(base)) return false;
  if (kind.names?.includes(base)) return true;
  if (kind.extensions?.some((e) => base.endsWith(e) && base.length > e.length)) return true;
  if (kind.pattern?.test(base)) return true;
  if (kind.suffixes?.some((s) => lower === s || lower.endsWith(`/${s}`))) return true;
  return kind.dirs?.some((d) => lower.startsWith(`${d}/`) || lower.includes(`/${d}/`)) ?? false;
}

/** The credential-file kinds a normalised path is (usually none or one); worked out once per path. */
export const fileKindsOf: (path: string) => readonly FileKind[] = remembered((path) => {
  const lower = path.toLowerCase();
  const base = lower.slice(lower.lastIndexOf('/') + 1);
  return Object.freeze(FILE_KINDS.filter((k) => matches(k, lower, base)));
});
