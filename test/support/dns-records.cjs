// Preloaded into a service under test (NODE_OPTIONS="--require …/dns-records.cjs"): answers the names in
// TEST_DNS_RECORDS ("name=address,name=address") as a DNS zone would, the way a hostile tenant's own zone can
// point a public-looking name at any address. Every other name resolves as usual. It stands in for a DNS server
// this machine cannot run, so a test does not depend on how the host resolves its own name.
'use strict';
const dns = require('node:dns');

const records = new Map(
  (process.env.TEST_DNS_RECORDS ?? '')
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const [name, address] = entry.split('=');
      return [name.toLowerCase(), address];
    }),
);
const systemLookup = dns.lookup;

dns.lookup = function lookup(host, options, callback) {
  const done = typeof options === 'function' ? options : callback;
  const address = records.get(String(host).toLowerCase());
  if (address === undefined) return systemLookup.apply(this, arguments);
  const family = address.includes(':') ? 6 : 4;
  const all = typeof options === 'object' && options !== null && options.all;
  process.nextTick(() => (all ? done(null, [{ address, family }]) : done(null, address, family)));
  return {};
};
