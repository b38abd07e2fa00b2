// Benchmark anchor: the redirector as a Node user would build it, node:http plus ioredis with
// auto-pipelining, running securelink's own lua/resolve_link.lua once a request with the keys
// and arguments the redirector sends (stats recording included), answering 302/404/410/503.
//
// Environment: BENCH_REDIS_URL, BENCH_KEY_PREFIX (sl), BENCH_PORT, BENCH_HOST (127.0.0.1),
// SECURELINK_RETENTION_SECONDS (604800), BENCH_STATS (1: record stats, as the redirector does).
// GET /-/healthz answers 200 once the script is loaded; GET /-/count the 302s served so far.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const Redis = require('ioredis');

const prefix = process.env.BENCH_KEY_PREFIX || 'sl';
const retention = process.env.SECURELINK_RETENTION_SECONDS || '604800';
const recordStats = (process.env.BENCH_STATS || '1') === '1';
const script = fs.readFileSync(path.join(__dirname, '..', '..', 'lua', 'resolve_link.lua'), 'utf8');
const CODE = /^[A-Za-z0-9_-]{4,64}$/;
const COUNT = '0';
const PEEK = '1';

const redis = new Redis(process.env.BENCH_REDIS_URL, { enableAutoPipelining: true });
// defineCommand sends EVALSHA and falls back to EVAL on NOSCRIPT, as the redirector does.
redis.defineCommand('resolveLink', { lua: script });

// As redirector/visitors.py: the Referer's host ('' none, '*' unusable), the device letter.
const HOST = /^[a-z0-9._-]+$/;
function referrerHost(referer) {
  const value = (referer || '').trim();
  if (!value) return '';
  const at = value.indexOf('://');
  if (at <= 0) return '*';
  let rest = value.slice(at + 3);
  const end = rest.search(/[/?#\\]/);
  if (end >= 0) rest = rest.slice(0, end);
  const host = rest.slice(rest.lastIndexOf('@') + 1).toLowerCase().split(':')[0].replace(/\.+$/, '');
  return host && host.length <= 60 && HOST.test(host) ? host : '*';
}

const TABLET = ['ipad', 'tablet', 'kindle', 'silk/', 'playbook', 'nexus 7', 'nexus 10'];
const MOBILE = ['mobi', 'iphone', 'ipod', 'windows phone', 'blackberry', 'bb10', 'opera mini', 'symbian'];
const DESKTOP = ['windows nt', 'macintosh', 'mac os x', 'x11', 'linux', 'cros', 'freebsd'];
const classes = new Map();
function classify(ua) {
  if (TABLET.some((t) => ua.includes(t))) return 't';
  if (ua.includes('android')) return ua.includes('mobi') ? 'm' : 't';
  if (MOBILE.some((t) => ua.includes(t))) return 'm';
  if ((ua.startsWith('mozilla/') || ua.startsWith('opera/')) && DESKTOP.some((t) => ua.includes(t))) return 'd';
  return 'o';
}
function deviceClass(userAgent) {
  if (!userAgent) return 'o';
  let known = classes.get(userAgent);
  if (known === undefined) {
    known = classify(userAgent.slice(0, 2048).toLowerCase());
    if (classes.size >= 2048) classes.clear();
    classes.set(userAgent, known);
  }
  return known;
}

let today = -1;
let totalsKey = '';
function totals() {
  const day = Math.floor(Date.now() / 86400000);
  if (day !== today) {
    today = day;
    totalsKey = `${prefix}:totals:{${new Date(day * 86400000).toISOString().slice(0, 10)}}`;
  }
  return totalsKey;
}

const ALWAYS = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };
const GONE = { 2: 'This link has expired.', 3: 'This link has reached its view limit.', 4: 'This link has been revoked.' };
let served = 0;

function page(res, status, title, message, extra) {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body><h1>${title}</h1><p>${message}</p></body></html>`;
  res.writeHead(status, {
    ...ALWAYS,
    'Cache-Control': 'no-store',
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

function follow(req, res, code) {
  const mode = req.method === 'HEAD' ? PEEK : COUNT;
  let call;
  if (recordStats) {
    const keys = [`${prefix}:link:{${code}}`, `${prefix}:stats:{${code}}`, `${prefix}:stats:{${code}}:previews`, totals()];
    const args = mode === COUNT
      ? [mode, retention, '', referrerHost(req.headers.referer), deviceClass(req.headers['user-agent'])]
      : [mode, retention];
    call = redis.resolveLink(keys.length, ...keys, ...args);
  } else {
    call = redis.resolveLink(1, `${prefix}:link:{${code}}`, mode, retention);
  }
  call.then((reply) => {
    const status = reply[0];
    if (status === 0 && reply[2] !== 'f') {
      if (mode === COUNT) served += 1;
      res.writeHead(302, { ...ALWAYS, Location: reply[1], 'Cache-Control': 'private, no-store', 'Content-Length': 0 });
      res.end();
    } else if (status === 1) {
      page(res, 404, 'Not Found', 'No link has this code.');
    } else if (GONE[status]) {
      page(res, 410, 'Gone', GONE[status]);
    } else {
      page(res, 501, 'Not Implemented', 'The anchor answers plain links only.');
    }
  }, () => page(res, 503, 'Service Unavailable', 'The service is busy. Try again in a moment.', { 'Retry-After': '1' }));
}

let ready = false;
const server = http.createServer((req, res) => {
  const url = req.url;
  if (url === '/-/healthz') {
    res.writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain' });
    res.end(ready ? 'ok' : 'starting');
    return;
  }
  if (url === '/-/count') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(String(served));
    return;
  }
  const code = url.slice(1);
  if ((req.method === 'GET' || req.method === 'HEAD') && CODE.test(code)) {
    follow(req, res, code);
  } else {
    page(res, 404, 'Not Found', 'No link has this code.');
  }
});
server.keepAliveTimeout = 65000; // as the redirector's uvicorn: longer than clients' idle timeouts

// Ready once the script is in the server's cache: the first measured request is no EVAL.
redis.script('LOAD', script).then(() => {
  ready = true;
}, (error) => {
  console.error(`node anchor: cannot load resolve_link.lua: ${error.message}`);
  process.exit(1);
});
server.listen(Number(process.env.BENCH_PORT), process.env.BENCH_HOST || '127.0.0.1', 4096);

function stop() {
  server.close(() => redis.quit().finally(() => process.exit(0)));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
