// The counter contract on Koa with the seed koa-session-redis3 (a Koa 1 generator
// middleware, run through koa-convert): cookie `koa:sess` (+ `.sig`), key
// `<SESSION_PREFIX>:<puid>` (the package adds the `:`), compact JSON, `SET` then `EXPIRE`.
'use strict';

const Koa = require('koa');
const convert = require('koa-convert');
const session = require('koa-session-redis3');
const { config, serve, captureClients, requireFrom, fail } = require('./common');
const { counterRoutes } = require('./koa-routes');

const cfg = config();
if (cfg.maxAge === 'session') fail('koa-session-redis3 needs a ttl: give SESSION_MAX_AGE in ms');

const app = new Koa();
app.keys = cfg.keys;

// The package makes its node_redis 2 client inside the middleware; catch it to wait for it.
const redis = requireFrom('koa-session-redis3', 'redis');
const clients = captureClients(redis, 'createClient');
const store = { host: cfg.redisHost, port: cfg.redisPort, ttl: Math.ceil(cfg.maxAge / 1000) };
if (cfg.prefix !== undefined) store.keySchema = cfg.prefix;
app.use(convert(session({ store })));

app.use(counterRoutes());

serve('koa-session-redis3', app, cfg.port, clients);
