// The counter contract on Koa with koa-session 7 and no store: the whole session lives in
// the cookie `koa.sess`, base64 of its JSON (the app's keys, then `_expire` and `_maxAge`),
// signed by keygrip SHA-1 in `koa.sess.sig`. There is no id, so no prefix (SESSION_PREFIX
// is refused) and nothing to regenerate on login; `ctx.session = null` clears both
// cookies. Needs no Redis.
'use strict';

const Koa = require('koa');
const { createSession } = require('koa-session');
const { config, serve, fail } = require('./common');
const { counterRoutes } = require('./koa-routes');

const cfg = config({ redis: false });
if (cfg.prefix !== undefined) fail('koa-session keeps no id in cookie mode; unset SESSION_PREFIX');

const app = new Koa();
app.keys = cfg.keys;

const options = { maxAge: cfg.maxAge, signed: true };
if (process.env.SESSION_ROLLING === '1') options.rolling = true;
if (process.env.SESSION_RENEW === '1') options.renew = true;
app.use(createSession(options, app));

app.use(counterRoutes());

serve('koa-session-cookie', app, cfg.port, []);
