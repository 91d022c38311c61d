// The counter contract on Koa with koa-session 7 and koa-redis 4: cookie `koa.sess`
// (+ `koa.sess.sig`, keygrip SHA-1), the session id as the Redis key, JSON with `_expire`
// and `_maxAge`. SESSION_PREFIX becomes koa-session's `prefix`, which is part of the id:
// it shows in the cookie as well as in the key.
'use strict';

const Koa = require('koa');
const { createSession } = require('koa-session');
const redisStore = require('koa-redis');
const { config, serve } = require('./common');
const { counterRoutes } = require('./koa-routes');

const cfg = config();
const app = new Koa();
app.keys = cfg.keys;

const store = redisStore({ url: cfg.redisUrl });
const options = { store, maxAge: cfg.maxAge, signed: true };
if (cfg.prefix !== undefined) options.prefix = cfg.prefix;
if (process.env.SESSION_ROLLING === '1') options.rolling = true;
if (process.env.SESSION_RENEW === '1') options.renew = true;
app.use(createSession(options, app));

app.use(counterRoutes({
  // A new id on login: an id planted before it is worthless. Keeps the data.
  renew: (ctx) => ctx.session.regenerate(),
}));

serve('koa-session', app, cfg.port, [store.client]);
