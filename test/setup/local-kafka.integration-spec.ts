// `npm run kafka` as a developer runs it: the same address and the same data after a restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freeLoopbackPort } from '../../deploy/kafka/local-kafka.mjs';

const script = join(import.meta.dirname, '..', '..', 'deploy', 'kafka', 'local-kafka.mjs');

interface Running {
  child: ChildProcess;
  bootstrap: string;
  stderr: () => string;
}

/** Starts the script; resolves with the bootstrap address it prints on stdout once the broker is ready. */
function start(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('\n')) resolve({ child, bootstrap: stdout.trim(), stderr: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`npm run kafka exited with ${code}: ${stderr}`)));
  });
}

function stop(running: Running): Promise<number | null> {
  return new Promise((resolve) => {
    running.child.on('exit', (code) => resolve(code));
    running.child.kill('SIGTERM');
  });
}

describe('npm run kafka', () => {
  let dir: string;
  let running: Running | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tollgate-npm-run-kafka-'));
  });

  afterAll(async () => {
    if (running && running.child.exitCode === null) await stop(running);
    await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('comes back on the same port with the same topics, and --fresh starts over', async () => {
    const port = await freeLoopbackPort();
    const controllerPort = await freeLoopbackPort();
    const args = ['--port', String(port), '--controller-port', String(controllerPort), '--data-dir', dir];
    const topics = async () => {
      const admin = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        return await admin.listTopics();
      } finally {
        await admin.disconnect();
      }
    };

    running = await start(args);
    expect(running.bootstrap).toBe(`127.0.0.1:${port}`);
    const admin = new Kafka({ brokers: [running.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'kept-between-runs' }], waitForLeaders: true });
    await admin.disconnect();
    expect(await stop(running)).toBe(0);

    running = await start(args);
    expect(running.bootstrap).toBe(`127.0.0.1:${port}`);
    expect(running.stderr()).toContain(`reusing the data in ${join(dir, 'data')}`);
    expect(await topics()).toContain('kept-between-runs');
    expect(await stop(running)).toBe(0);

    running = await start([...args, '--fresh']);
    expect(await topics()).not.toContain('kept-between-runs');
    expect(await stop(running)).toBe(0);
  }, 120_000);
});
