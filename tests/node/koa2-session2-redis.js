// The counter contract on Koa with the seed koa2-session2-redis: cookie `koa:sid` (signed
// with keygrip SHA-1, `.sig`), key `SESSION:<48 hex>`, plain JSON, `SET ... EX`. The
// prefix is fixed by the package, so SESSION_PREFIX is refused. It has no regenerate,
// and `ctx.session = null` deletes the key but leaves the cookie in place.
'use strict';

const Koa = require('koa');
const session = require('koa2-session2-redis');
const { config, serve, captureClients, requireFrom, fail } = require('./common');
const { counterRoutes } = require('./koa-routes');

const cfg = config();
if (cfg.prefix !== undefined) fail('koa2-session2-redis always uses the prefix "SESSION:"; unset SESSION_PREFIX');
if (cfg.maxAge === 'session') fail('koa2-session2-redis needs a maxAge in ms');

const app = new Koa();
app.keys = cfg.keys;

// The package makes its ioredis client inside the middleware; catch it to wait for it.
const Redis = requireFrom('koa2-session2-redis', 'ioredis');
const clients = captureClients(Redis.prototype, 'connect');
app.use(
  session({
    maxAge: cfg.maxAge,
    httpOnly: true,
    signed: true,
    redisCofig: { host: cfg.redisHost, port: cfg.redisPort },
  }),
);

app.use(counterRoutes());

serve('koa2-session2-redis', app, cfg.port, clients);
