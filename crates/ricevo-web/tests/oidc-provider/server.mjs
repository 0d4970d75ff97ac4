// A town's OpenID Connect provider for the staff sign-in tests (issue 16): the real
// `oidc-provider` (npm, pinned in the workspace's package.json) on a loopback port, with its
// development login form (any password is accepted; the login names the account) and consent
// page, which the tests fill in over HTTP as a browser would.
//
// Input (environment): CLIENTS, a JSON list of {client_id, client_secret, redirect_uris}.
// Output: one line `READY <issuer>` on stdout once it listens. It stops when stdin closes (the
// test process went away) or on SIGTERM.

import http from 'node:http';
import Provider from 'oidc-provider';

// The people of the tests: the login is the account id; the claims are what the provider says.
const accounts = {
  admin: { email: 'admin@esempio.it', email_verified: true, name: 'Amministratore', groups: ['ricevo-admin'] },
  anna: { email: 'anna@esempio.it', email_verified: true, name: 'Anna Anagrafe', groups: ['anagrafe'] },
  ugo: { email: 'ugo@esempio.it', email_verified: true, name: 'Ugo Ignoto', groups: ['biblioteca'] },
  mario: { email: 'mario@altrove.it', email_verified: true, name: 'Mario Altrove', groups: ['anagrafe'] },
  nina: { email: 'nina@esempio.it', email_verified: false, name: 'Nina Nonverificata', groups: ['anagrafe'] },
  dora: { email: 'dora@esempio.it', email_verified: true, name: 'Dora Disattivata', groups: [] },
  bruno: { email: 'bruno@altro.it', email_verified: true, name: 'Bruno Altro', groups: ['anagrafe'] },
};

const clients = JSON.parse(process.env.CLIENTS || '[]').map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...c,
}));

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients,
    cookies: { keys: ['ricevo-tests-only-cookie-key'] },
    // email and profile claims go to userinfo (the ID token carries only sub): Ricevo must
    // fetch them, as with many real providers.
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'groups'],
    },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const claims = accounts[id];
      if (!claims) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`READY ${issuer}\n`);
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
