import 'reflect-metadata';
import { ConfigError, loadConfig } from '@tollgate/config';
import { runningEmbeddedPostgresUrl, startEmbeddedPostgres } from '@tollgate/database';
import { type CliContext, createOutput, EXIT, runCli } from '@tollgate/ops';

// The `tollgate` CLI (bin/tollgate.mjs). Thin: configuration, the database, then libs/ops.
const stderr = (text: string) => void process.stderr.write(text);
const stops: (() => Promise<void>)[] = [];

let code: number;
try {
  const config = loadConfig(process.env);
  code = await runCli(
    process.argv.slice(2),
    (json): CliContext => ({
      config,
      out: createOutput(json),
      async database() {
        if (config.databaseUrl) return config.databaseUrl;
        // No DATABASE_URL: the embedded PostgreSQL of `npm start` under TOLLGATE_DATA_DIR, running or not.
        const running = await runningEmbeddedPostgresUrl(config.dataDir);
        if (running) return running;
        const pg = await startEmbeddedPostgres({ dataDir: config.dataDir });
        stops.push(() => pg.stop());
        return pg.url;
      },
      readStdin: async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString('utf8');
      },
    }),
    stderr,
  );
} catch (err) {
  stderr(
    err instanceof ConfigError
      ? `tollgate: invalid configuration\n${err.message}\n`
      : `tollgate: ${(err as Error).message}\n`,
  );
  code = err instanceof ConfigError ? EXIT.usage : EXIT.failed;
}
for (const stop of stops) await stop().catch(() => undefined);
process.exit(code);
