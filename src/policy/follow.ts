/**
 * Where candidate bundles come from while Custos runs: a watched directory (fs.watch, with a
 * poll as a backstop for file systems that do not report changes), or a git branch followed
 * with the `git` CLI (fetched into a bare mirror under the state directory; each new commit is
 * extracted whole into its own directory with `git archive`, so a half-written checkout is
 * never offered). Each follower calls `offer` with a directory; `poke()` checks at once (a
 * NOTIFY from another replica).
 */
import { execFile } from 'node:child_process';
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CustosError } from '../kernel/index.js';
import type { OfferContext } from './activation.js';

const run = promisify(execFile);

export interface Follower {
  /** Checks the source now. */
  poke(): Promise<void>;
  close(): void;
}

export type OfferFn = (dir: string, context: OfferContext) => Promise<unknown>;

export interface FollowOptions {
  /** The backstop poll (ms). */
  readonly pollMs: number;
  /** Errors of a check (never thrown into the event loop). */
  readonly onError: (err: unknown) => void;
}

/** Offers `dir` whenever something under it changes (debounced), and every `pollMs`. */
export function watchDirectory(dir: string, offer: OfferFn, options: FollowOptions): Follower {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const check = async (): Promise<void> => {
    if (closed) return;
    try {
      await offer(dir, { trigger: 'watch' });
    } catch (err) {
      options.onError(err);
    }
  };
  const soon = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void check(), 50);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { recursive: true }, soon);
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // the poll still follows
  }
  const poll = setInterval(() => void check(), options.pollMs);
  poll.unref();
  return {
    poke: check,
    close() {
      closed = true;
      watcher?.close();
      clearInterval(poll);
      if (timer) clearTimeout(timer);
    },
  };
}

export interface GitSource {
  /** A repository git can fetch from (a path or URL). */
  readonly repo: string;
  readonly branch: string;
  /** The bundle's directory inside the repository (default the root). */
  readonly path: string;
}

async function git(args: readonly string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await run('git', [...args], { cwd, timeout: 30_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    return stdout.trim();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new CustosError(
      'ERR_POLICY_BUNDLE_INVALID',
      code === 'ENOENT' ? 'The git CLI is not installed; install git or follow a directory.' : `git ${args[0]} failed for the policy source`,
      { cause: err },
    );
  }
}

/** Fetches the branch into the mirror and extracts its commit (once) into `<stateDir>/git/commits/<sha>`; returns it. */
export async function fetchGitBundle(source: GitSource, stateDir: string): Promise<{ dir: string; commit: string }> {
  const mirror = join(stateDir, 'git', 'mirror.git');
  if (!(await stat(join(mirror, 'HEAD')).catch(() => undefined))) {
    await mkdir(mirror, { recursive: true });
    await git(['init', '--quiet', '--bare', mirror]);
  }
  await git(['--git-dir', mirror, 'fetch', '--quiet', '--no-tags', source.repo, `+refs/heads/${source.branch}:refs/follow/${source.branch}`]);
  const commit = await git(['--git-dir', mirror, 'rev-parse', `refs/follow/${source.branch}^{commit}`]);
  const dir = join(stateDir, 'git', 'commits', commit);
  if (!(await stat(dir).catch(() => undefined))) {
    const staging = `${dir}.tmp`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const treeish = source.path === '.' || source.path === '' ? commit : `${commit}:${source.path}`;
    await run('sh', ['-c', 'git --git-dir "$1" archive --format=tar "$2" | tar -x -C "$3"', 'sh', mirror, treeish, staging], { timeout: 30_000 });
    await rename(staging, dir);
  }
  return { dir, commit };
}

/** Follows a git branch: fetches every `pollMs` (and on `poke`) and offers each new commit. */
export function followGit(source: GitSource, stateDir: string, offer: OfferFn, options: FollowOptions): Follower {
  let closed = false;
  let running: Promise<void> | undefined;
  const check = (): Promise<void> => {
    if (closed) return Promise.resolve();
    running ??= (async () => {
      try {
        const { dir, commit } = await fetchGitBundle(source, stateDir);
        await offer(dir, { trigger: 'git', commit });
      } catch (err) {
        options.onError(err);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const poll = setInterval(() => void check(), options.pollMs);
  poll.unref();
  return {
    poke: check,
    close() {
      closed = true;
      clearInterval(poll);
    },
  };
}
