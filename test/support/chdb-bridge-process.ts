import { startChdbHttpServer } from './chdb-http-server';

// A ClickHouse engine (chdb) behind ClickHouse's HTTP interface, in its own process so that test processes
// never load the native engine themselves. Prints {"url": …} once listening; SIGTERM stops it.
const dataDir = process.argv[2];
void startChdbHttpServer({ dataDir, faultInjection: true }).then((server) => {
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
