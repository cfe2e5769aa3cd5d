import { startDemoModel } from './demo-model';

// `node dist/apps/demo-model/src/main.js [port]`: the demo model server on 127.0.0.1.
const port = Number(process.argv[2] ?? 9000);
const demo = await startDemoModel(port);
process.stderr.write(`demo model listening on ${demo.url}\n`);
const stop = () => void demo.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
