// `npm run kafka`'s options and download progress (deploy/kafka/local-kafka.mjs), as pure functions.
import { join } from 'node:path';
import { DEFAULT_PORT, mavenProgress, parseKafkaArgs } from '../../deploy/kafka/local-kafka.mjs';

const root = join(import.meta.dirname, '..', '..');

describe('npm run kafka options', () => {
  it('uses a fixed port and a kept folder by default', () => {
    expect(parseKafkaArgs([], {})).toEqual({
      help: false,
      temp: false,
      port: DEFAULT_PORT,
      controllerPort: DEFAULT_PORT + 1,
      home: join(root, '.kafka'),
      fresh: false,
    });
  });

  it('takes the port and folder from options or the environment, options first', () => {
    expect(parseKafkaArgs(['--port', '29092', '--data-dir', '/tmp/k', '--fresh'], { KAFKA_PORT: '1' })).toMatchObject({
      port: 29092,
      controllerPort: 29093,
      home: '/tmp/k',
      fresh: true,
    });
    expect(parseKafkaArgs([], { KAFKA_PORT: '29500', KAFKA_DATA_DIR: '/tmp/k2' })).toMatchObject({
      port: 29500,
      home: '/tmp/k2',
    });
    expect(parseKafkaArgs(['--temp'], {})).toEqual({ help: false, temp: true });
  });

  it.each([
    [['--port', 'x'], /--port: not a port: x/],
    [['--port', '70000'], /--port: not a port/],
    [['--port', '5', '--controller-port', '5'], /must differ/],
    [['--temp', '--port', '5'], /--temp .* alone/],
    [['--colour'], /Unknown option '--colour'/],
  ])('refuses %j with the usage', (argv, message) => {
    expect(() => parseKafkaArgs(argv, {})).toThrow(message);
    expect(() => parseKafkaArgs(argv, {})).toThrow(/^usage: npm run kafka/);
  });
});

describe('Maven download progress', () => {
  it('says each downloaded jar and the running total, and nothing for other lines', () => {
    const lines: string[] = [];
    const progress = mavenProgress((line) => lines.push(line));
    progress.line('[INFO] Downloading from central: https://repo.maven.apache.org/maven2/org/x/x.pom');
    progress.line(
      '[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/org/x/x.pom (2.1 kB at 10 kB/s)',
    );
    progress.line(
      '[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/org/apache/kafka/kafka-clients/4.1.1/kafka-clients-4.1.1.jar (12 MB at 5.0 MB/s)',
    );
    progress.line('[INFO] Copying kafka-server-4.1.1.jar to /tmp/x/kafka-server-4.1.1.jar');
    progress.stop();
    expect(lines).toEqual(['kafka: downloaded kafka-clients-4.1.1.jar (12 MB; 2 file(s), 12.0 MB downloaded)']);
    expect(progress.summary()).toBe('2 file(s), 12.0 MB downloaded, 1 jar(s) copied');
  });
});
