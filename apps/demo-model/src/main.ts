import { startDemoModel } from './demo-model';

// `node dist/apps/demo-model/src/main.js [port]`: the demo model server on 127.0.0.1.
const port = Number(process.argv[2] ?? 9000);
const demo = await startDemoModel(port);
const stop = () => void demo.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
// Announced only once the handlers are installed: whoever stops it on this line gets a clean exit 0.
process.stderr.write(`demo model listening on ${demo.url}\n`);
