// The counter contract's routes for the three Koa apps, which differ only in the session
// middleware in front and in whether it can give a session a new id on login.
'use strict';

const { loginName } = require('./common');

/**
 * The routes as one Koa middleware. `renew(ctx)`, when given, moves the session to a new
 * id after a login and keeps its data.
 */
function counterRoutes({ renew } = {}) {
  return async function routes(ctx) {
    switch (`${ctx.method} ${ctx.path}`) {
      case 'GET /':
        ctx.session.views = (ctx.session.views || 0) + 1;
        ctx.body = `${ctx.session.views} views`;
        break;
      case 'GET /peek':
        ctx.body = `${ctx.session.views || 0} views`;
        break;
      case 'GET /health':
        ctx.body = 'ok';
        break;
      case 'POST /login': {
        const user = loginName(ctx.query.user);
        if (user === null) {
          ctx.status = 400;
          ctx.body = 'user must be 1 to 64 bytes';
          break;
        }
        ctx.session.user = user;
        if (renew) await renew(ctx);
        ctx.body = `welcome ${user}`;
        break;
      }
      case 'GET /whoami':
        if (typeof ctx.session.user === 'string') {
          ctx.body = ctx.session.user;
        } else {
          ctx.status = 401;
          ctx.body = '';
        }
        break;
      case 'POST /logout':
        ctx.session = null;
        ctx.body = 'bye';
        break;
      default:
        ctx.status = 404;
    }
  };
}

module.exports = { counterRoutes };
