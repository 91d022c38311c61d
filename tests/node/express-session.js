// The counter contract on Express 5 with express-session and connect-redis 9 (node-redis 5):
// cookie `connect.sid` = `s:<id>.<HMAC-SHA256>`, key `sess:<id>`, JSON with a `cookie`
// object. SESSION_PREFIX becomes connect-redis's `prefix`.
'use strict';

const express = require('express');
const session = require('express-session');
const { RedisStore } = require('connect-redis');
const { createClient } = require('redis');
const { config, loginName, serve, fail } = require('./common');

const cfg = config();
if (cfg.maxAge === 'session') fail('express-session has no "session" maxAge: leave SESSION_MAX_AGE unset or give ms');

const client = createClient({ url: cfg.redisUrl });
client.on('error', (err) => console.error('redis:', err.message));
const storeOptions = { client };
if (cfg.prefix !== undefined) storeOptions.prefix = cfg.prefix;

const app = express();
app.use(
  session({
    store: new RedisStore(storeOptions),
    secret: cfg.keys,
    // The settings express-session's own documentation recommends: no write for an
    // unchanged session, no session for a visitor who stored nothing.
    resave: false,
    saveUninitialized: false,
    rolling: process.env.SESSION_ROLLING === '1',
    cookie: { maxAge: cfg.maxAge },
  }),
);

app.get('/', (req, res) => {
  req.session.views = (req.session.views || 0) + 1;
  res.send(`${req.session.views} views`);
});

app.get('/peek', (req, res) => res.send(`${req.session.views || 0} views`));

app.get('/health', (req, res) => res.send('ok'));

app.post('/login', (req, res, next) => {
  const user = loginName(req.query.user);
  if (user === null) {
    res.status(400).send('user must be 1 to 64 bytes');
    return;
  }
  // regenerate() starts an empty session under a new id; carry the data over, as the
  // Rust side's renew does.
  const kept = { ...req.session };
  delete kept.cookie;
  req.session.regenerate((err) => {
    if (err) return next(err);
    Object.assign(req.session, kept, { user });
    res.send(`welcome ${user}`);
  });
});

app.get('/whoami', (req, res) => {
  if (typeof req.session.user === 'string') res.send(req.session.user);
  else res.status(401).end();
});

app.post('/logout', (req, res, next) => {
  req.session.destroy((err) => {
    if (err) return next(err);
    res.send('bye');
  });
});

// node-redis 5 connects on request; the ready line waits for it.
client.connect().then(
  () => serve('express-session', app, cfg.port, [client]),
  (err) => fail(`redis: ${err.message}`),
);
