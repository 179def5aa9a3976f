#!/usr/bin/env node
'use strict';
// The platform tests talk to a real Postgres and Redis (DATABASE_URL / TEST_DATABASE_URL and REDIS_URL, by
// default 127.0.0.1:5432 and :6379). When one is not reachable, this starts it from the Debian packages
// (installing them when missing); where that is impossible it says exactly what to start. Runs before `npm test`.
const { spawnSync } = require('node:child_process');
const { aptGet } = require('./apt');
const net = require('node:net');

const reachable = (host, port) =>
  new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1500 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const sh = (script) => spawnSync('sh', ['-c', script], { stdio: 'inherit' }).status === 0;
const asRoot = process.getuid && process.getuid() === 0;

function endpoint(url, port) {
  const parsed = new URL(url);
  return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || port) };
}

const services = [
  {
    name: 'PostgreSQL',
    ...endpoint(process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://127.0.0.1:5432/postgres', 5432),
    packages: ['postgresql'],
    start: () => sh('pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | tail -1) main start'),
    hint: 'start PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres, or set TEST_DATABASE_URL',
  },
  {
    name: 'Redis',
    ...endpoint(process.env.REDIS_URL || 'redis://127.0.0.1:6379', 6379),
    packages: ['redis-server'],
    start: () => sh('redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'),
    hint: 'start Redis on 127.0.0.1:6379, or set REDIS_URL',
  },
];

(async () => {
  for (const service of services) {
    if (await reachable(service.host, service.port)) continue;
    const local = service.host === '127.0.0.1' || service.host === 'localhost';
    if (local && asRoot && has('apt-get')) {
      if (!service.packages.every((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status === 0)) {
        console.error(`Installing ${service.packages.join(', ')} for the tests`);
        aptGet(['install', '-y', '--no-install-recommends', ...service.packages]);
      }
      console.error(`Starting ${service.name} for the tests`);
      service.start();
      for (let i = 0; i < 30 && !(await reachable(service.host, service.port)); i++) await new Promise((r) => setTimeout(r, 500));
    }
    if (!(await reachable(service.host, service.port))) {
      console.error(`${service.name} is not reachable at ${service.host}:${service.port}: ${service.hint}.`);
      process.exit(1);
    }
  }
})();
