// What every app shares: configuration from the environment, the contract's small rules,
// and the ready line the Rust harness waits for.
'use strict';

const path = require('node:path');

/** Longest user name `/login` accepts, as in examples/counter.rs. */
const MAX_USER_LEN = 64;
const ONE_DAY_MS = 24 * 60 * 60 * 1000;

function fail(message) {
  console.error(message);
  process.exit(2);
}

/**
 * The configuration, from `PORT`, `REDIS_URL`, `SESSION_KEYS` (comma-separated, the first
 * signs), `SESSION_PREFIX` (unset: the package's default) and `SESSION_MAX_AGE` (ms, or
 * `session` for a browser-session cookie; default one day). An app that keeps its
 * sessions in the cookie passes `{ redis: false }`: it needs no `REDIS_URL`.
 */
function config({ redis = true } = {}) {
  const port = Number(process.env.PORT);
  if (!Number.isInteger(port) || port <= 0) fail('set PORT to the port to listen on');
  if (redis && !process.env.REDIS_URL) fail('set REDIS_URL, e.g. redis://127.0.0.1:6379');
  const url = process.env.REDIS_URL ? new URL(process.env.REDIS_URL) : null;
  const keys = (process.env.SESSION_KEYS || '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key.length > 0);
  if (keys.length === 0) fail('set SESSION_KEYS (comma-separated, the first signs)');
  const rawMaxAge = process.env.SESSION_MAX_AGE;
  let maxAge = ONE_DAY_MS;
  if (rawMaxAge === 'session') {
    maxAge = 'session';
  } else if (rawMaxAge !== undefined) {
    maxAge = Number(rawMaxAge);
    if (!Number.isInteger(maxAge) || maxAge <= 0) fail('SESSION_MAX_AGE: milliseconds or "session"');
  }
  return {
    port,
    redisUrl: url && url.href,
    redisHost: url && url.hostname,
    redisPort: url && Number(url.port || 6379),
    keys,
    prefix: process.env.SESSION_PREFIX,
    maxAge,
  };
}

/** The `user` query parameter of `/login`, or null when it is missing or too long. */
function loginName(value) {
  if (typeof value !== 'string') return null;
  const bytes = Buffer.byteLength(value);
  return bytes >= 1 && bytes <= MAX_USER_LEN ? value : null;
}

/**
 * Resolves once a Redis client (ioredis, node_redis 2 or node-redis 5) has answered a PING,
 * so everything it sends on connecting (INFO, SELECT, CLIENT SETINFO) has been run before
 * the ready line: a test's MONITOR log then holds only what requests cause.
 */
function pinged(client) {
  // node_redis 2 (snake_case `send_command`) takes a callback; the others return a promise.
  if (typeof client.send_command !== 'function') return client.ping();
  return new Promise((resolve, reject) => client.ping((err) => (err ? reject(err) : resolve())));
}

/**
 * Collects the clients that a package's private copy of a Redis library creates, for
 * packages that keep their client to themselves. `method` is wrapped on `target`.
 */
function captureClients(target, method) {
  const clients = [];
  const original = target[method];
  target[method] = function (...args) {
    const result = original.apply(this, args);
    clients.push(result && typeof result.ping === 'function' ? result : this);
    return result;
  };
  return clients;
}

/** Loads `request` as `owner` would load it: the copy in the owner's own node_modules. */
function requireFrom(owner, request) {
  const ownerDir = path.dirname(require.resolve(`${owner}/package.json`));
  return require(require.resolve(request, { paths: [ownerDir] }));
}

/**
 * Serves `app` (Koa or Express) on 127.0.0.1:`port`, then prints the line the harness waits
 * for once Redis answered each of `clients`. Exits on failure, with the error on stderr.
 */
function serve(name, app, port, clients) {
  const server = app.listen(port, '127.0.0.1');
  const listening = new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  Promise.all([listening, ...clients.map(pinged)])
    .then(() => console.log(`ready ${name} on ${server.address().port}`))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

module.exports = { config, loginName, captureClients, requireFrom, serve, fail };
