import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The test set-up installs its tools with apt-get (scripts/apt.js). When another apt-get holds the dpkg lock it
 * waits for it, where a bare apt-get fails at once with "Could not get lock" and a stack trace followed.
 */
const root = join(__dirname, '..');
const asRoot = process.getuid?.() === 0;
// A package every Debian system has: installing it again changes nothing and needs no network.
const INSTALLED = 'debianutils';

(asRoot ? describe : describe.skip)('the test set-up and the dpkg lock (integration, as root)', () => {
  const holdLock = (seconds: number) =>
    new Promise<ReturnType<typeof spawn>>((held) => {
      // dpkg and apt lock with fcntl; so does this holder, as another apt-get would.
      const holder = spawn('python3', ['-c', `import fcntl, sys, time\nf = open('/var/lib/dpkg/lock-frontend', 'w')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(${seconds})`], { stdio: ['ignore', 'pipe', 'inherit'] });
      holder.stdout!.once('data', () => held(holder));
    });

  it('a bare apt-get fails at once while the lock is held: the situation is real', async () => {
    const holder = await holdLock(5);
    try {
      const bare = spawnSync('apt-get', ['install', '-y', INSTALLED], { encoding: 'utf8' });
      expect(bare.status).not.toBe(0);
      expect(bare.stderr).toMatch(/Could not get lock/);
    } finally {
      holder.kill();
    }
  });

  it("the set-up's apt-get waits for the lock, then succeeds", async () => {
    const holder = await holdLock(3);
    const started = Date.now();
    const setup = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(root, 'scripts/apt.js'))}).aptGet(['install', '-y', '${INSTALLED}'])`], { encoding: 'utf8' });
    holder.kill();
    expect(setup.status).toBe(0);
    // It really waited (the holder kept the lock for 3 s), and said nothing about a stack.
    expect(Date.now() - started).toBeGreaterThan(2_000);
    expect(setup.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);
});
