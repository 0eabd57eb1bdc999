// The certified OpenID Provider (panva/oidc-provider) on 127.0.0.1 for fmbot's tests.
//
//   node provider.mjs PORT [CONFIG.json]
//
// CONFIG: {"clients": [...oidc-provider client metadata], "users": {"login": {claims}}}.
// Each user signs in at the provider's own development login page with any password.
// Test controls, on the same port under /__test (never part of a real provider):
//   POST /__test/reset {CONFIG} the provider as a new process starts it: these clients and
//        users, a new signing key, the counts at 0, no tampering (one process serves a
//        test worker's tests one after the other: a node start costs most of a CPU-second)
//   POST /__test/rotate        a new signing key first, the old one still published
//   POST /__test/tamper {mode} the next token response's ID token is re-signed:
//        "foreign" (a key the provider never publishes), "expired" (exp an hour ago),
//        "audience" (aud another client); mode null stops it
//   GET  /__test/counts        how often the JWKS and the token endpoint were asked
import { readFileSync } from 'node:fs';
import http from 'node:http';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const [port, configPath] = process.argv.slice(2);
let config = configPath ? JSON.parse(readFileSync(configPath, 'utf8'))
  : { clients: [], users: {} };
const issuer = `http://127.0.0.1:${port}`;
let counts = { jwks: 0, token: 0 };
let tamper = null;

async function signingKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  jwk.kid = crypto.randomUUID();
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  return jwk;
}

let keys = [await signingKey()];
const foreign = await signingKey();

function build() {
  const provider = new Provider(issuer, {
    clients: config.clients,
    jwks: { keys },
    cookies: { keys: ['fmbot-test-cookie-key'] },
    pkce: { required: () => true },
    claims: {
      openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'],
    },
    conformIdTokenClaims: false, // the ID token carries the scopes' claims (as Keycloak's does)
    findAccount: async (ctx, id) => {
      const user = config.users[id];
      if (!user) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...user }) };
    },
    loadExistingGrant: async (ctx) => { // consent is given: a company's own application
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope);
      await grant.save();
      return grant;
    },
    ttl: { IdToken: 3600, AccessToken: 3600, AuthorizationCode: 600, Session: 3600,
      Interaction: 600, Grant: 3600 },
    features: { devInteractions: { enabled: true } },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/jwks') counts.jwks += 1;
    if (ctx.path === '/token' && ctx.method === 'POST') {
      counts.token += 1;
      if (tamper && ctx.status === 200 && ctx.body && ctx.body.id_token) {
        ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token, tamper) };
      }
    }
  });
  return provider;
}

async function resign(idToken, mode) {
  const claims = jose.decodeJwt(idToken);
  let key = keys[0];
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'foreign') key = foreign;
  if (mode === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'audience') claims.aud = 'another-client';
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .sign(await jose.importJWK(key, 'RS256'));
}

let provider = build();

function body(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data ? JSON.parse(data) : {}));
  });
}

const server = http.createServer(async (req, res) => {
  if (req.url.startsWith('/__test/')) {
    if (req.url === '/__test/reset' && req.method === 'POST') {
      config = await body(req);
      keys = [await signingKey()];
      counts = { jwks: 0, token: 0 };
      tamper = null;
      provider = build();
    } else if (req.url === '/__test/rotate' && req.method === 'POST') {
      keys = [await signingKey(), ...keys];
      provider = build();
    } else if (req.url === '/__test/tamper' && req.method === 'POST') {
      tamper = (await body(req)).mode ?? null;
    } else if (req.url !== '/__test/counts') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...counts, kids: keys.map((k) => k.kid) }));
    return;
  }
  provider.callback()(req, res);
});
server.listen(Number(port), '127.0.0.1', () => console.log(`listening ${issuer}`));
// Shared by a test process (no CONFIG: reset per test), it ends with that process: its stdin
// is a pipe from it, closed however that process ends.
if (!configPath) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
