/**
 * Page templates. Eta escapes every `<%= %>` output; nothing is rendered raw. No script anywhere,
 * so the CSP can forbid it.
 */
export const STYLESHEET = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5a6375; --line: #d6dbe4; --accent: #1f5fd1; --accent-ink: #fff; --bad: #a3261c; --bg: #f4f6fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 26rem; margin: 8vh auto; padding: 2rem; background: #fff; border: 1px solid var(--line); border-radius: 12px; box-shadow: 0 2px 12px rgb(0 0 0 / 6%); }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; }
p.lead { margin: 0 0 1.5rem; color: var(--muted); }
label { display: block; font-weight: 600; margin: 1rem 0 .35rem; }
input[type=text], input[type=password] { width: 100%; padding: .6rem .7rem; font: inherit; border: 1px solid #8a93a5; border-radius: 8px; }
input:focus-visible, button:focus-visible { outline: 3px solid #8fb3f5; outline-offset: 2px; }
.actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
button { flex: 1; padding: .65rem 1rem; font: inherit; font-weight: 600; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-ink); cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
.error { padding: .6rem .8rem; border-radius: 8px; background: #fdecea; color: var(--bad); border: 1px solid #f2b8b2; }
ul.scopes { list-style: none; padding: 0; margin: 1rem 0; border: 1px solid var(--line); border-radius: 8px; }
ul.scopes li { padding: .6rem .8rem; border-top: 1px solid var(--line); }
ul.scopes li:first-child { border-top: 0; }
ul.scopes code { font-size: .85rem; color: var(--muted); }
.client { font-weight: 700; }
h2 { font-size: 1.1rem; margin: 1.75rem 0 .5rem; }
h3 { font-size: 1rem; margin: 0 0 .5rem; }
a { color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
a.button { flex: 1; display: flex; align-items: center; justify-content: center; padding: .65rem 1rem; font-weight: 600; text-align: center; text-decoration: none; border-radius: 8px; border: 1px solid var(--accent); background: #fff; color: var(--accent); }
a:focus-visible { outline: 3px solid #8fb3f5; outline-offset: 2px; }
.notice { padding: .6rem .8rem; border-radius: 8px; background: #e8f5ec; color: #1d5c31; border: 1px solid #a8d5b5; }
ul.apps { list-style: none; padding: 0; margin: 1rem 0; }
ul.apps > li { padding: 1rem; margin-top: .75rem; border: 1px solid var(--line); border-radius: 8px; }
ul.apps ul.scopes { margin: .25rem 0 0; }
ul.apps .actions { margin-top: 1rem; }
dl { margin: 0; }
dt { font-weight: 600; margin-top: .5rem; }
dd { margin: 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
`

const layout = (body: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title><%= it.title %></title>
<link rel="stylesheet" href="<%= it.basePath %>/assets/style.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`

export const TEMPLATES = {
  login: layout(`
<h1>Sign in</h1>
<p class="lead"><% if (it.clientName) { %>to continue to <span class="client"><%= it.clientName %></span><% } else { %>to see and manage the apps that can use your account<% } %></p>
<% if (it.error) { %><p class="error" role="alert"><%= it.error %></p><% } %>
<form method="post" action="<%= it.action %>">
  <input type="hidden" name="csrf" value="<%= it.csrf %>">
  <label for="username">Username</label>
  <input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="<%= it.username %>"<% if (!it.username) { %> autofocus<% } %>>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required<% if (it.username) { %> autofocus<% } %>>
  <div class="actions"><button type="submit">Sign in</button></div>
</form>
`),
  consent: layout(`
<h1>Allow access?</h1>
<p class="lead"><span class="client"><%= it.clientName %></span> asks to access your account<% if (it.userName) { %> (<%= it.userName %>)<% } %>. It will be able to:</p>
<ul class="scopes">
<% it.scopes.forEach(function (scope) { %>  <li><%= scope.description %> <code><%= scope.name %></code></li>
<% }) %></ul>
<form method="post" action="<%= it.action %>">
  <input type="hidden" name="csrf" value="<%= it.csrf %>">
  <div class="actions">
    <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
    <button type="submit" name="decision" value="approve">Allow</button>
  </div>
</form>
`),
  account: layout(`
<h1>Your account</h1>
<p class="lead">Signed in as <span class="client"><%= it.userName %></span></p>
<% if (it.notice) { %><p class="notice" role="status"><%= it.notice %></p><% } %>
<h2>Connected apps</h2>
<% if (it.apps.length === 0) { %><p>No apps have access to your account.</p>
<% } else { %><p>These apps can use your account. Removing access signs an app out of your account at once; it has to ask you again to come back.</p>
<ul class="apps">
<% it.apps.forEach(function (app) { %>  <li>
    <h3><%= app.clientName %></h3>
    <dl>
      <dt>Allowed to</dt>
      <dd><ul class="scopes">
<% app.scopes.forEach(function (scope) { %>        <li><%= scope.description %> <code><%= scope.name %></code></li>
<% }) %>      </ul></dd>
      <dt><%= app.consented ? 'Access given' : 'Access since' %></dt>
      <dd><time datetime="<%= app.since.iso %>"><%= app.since.text %></time><% if (!app.consented) { %> (part of this service: it signs you in without asking)<% } %></dd>
      <dt>Last token issued</dt>
      <dd><% if (app.lastIssuedAt) { %><time datetime="<%= app.lastIssuedAt.iso %>"><%= app.lastIssuedAt.text %></time><% } else { %>Never<% } %></dd>
    </dl>
    <form method="post" action="<%= app.removeAction %>">
      <input type="hidden" name="csrf" value="<%= it.csrf %>">
      <div class="actions"><button type="submit" class="danger">Remove access<span class="visually-hidden"> for <%= app.clientName %></span></button></div>
    </form>
  </li>
<% }) %></ul>
<% } %><form method="post" action="<%= it.signOutAction %>">
  <input type="hidden" name="csrf" value="<%= it.csrf %>">
  <div class="actions"><button type="submit" class="secondary">Sign out</button></div>
</form>
`),
  removeAccess: layout(`
<h1>Remove access?</h1>
<p class="lead"><span class="client"><%= it.app.clientName %></span> will no longer be able to:</p>
<ul class="scopes">
<% it.app.scopes.forEach(function (scope) { %>  <li><%= scope.description %> <code><%= scope.name %></code></li>
<% }) %></ul>
<p>It is signed out of your account at once: every token it holds stops working<% if (it.app.consented) { %>, and it has to ask you again to use your account<% } else { %>. It is part of this service and signs you in without asking, so it gets access again the next time you sign in to it<% } %>.</p>
<form method="post" action="<%= it.action %>">
  <input type="hidden" name="csrf" value="<%= it.csrf %>">
  <div class="actions">
    <a class="button" href="<%= it.cancel %>">Cancel</a>
    <button type="submit" class="danger">Remove access<span class="visually-hidden"> for <%= it.app.clientName %></span></button>
  </div>
</form>
`),
  message: layout(`
<h1><%= it.title %></h1>
<p<% if (it.isError) { %> class="error" role="alert"<% } %>><%= it.message %></p>
<% if (it.link) { %><p><a href="<%= it.link.href %>"><%= it.link.text %></a></p>
<% } %>`),
  home: layout(`
<h1>authcode</h1>
<p class="lead">OAuth 2.1 and OpenID Connect authorization server.</p>
<p>Issuer: <code><%= it.issuer %></code></p>
<p>Metadata: <a href="<%= it.basePath %>/.well-known/openid-configuration">OpenID configuration</a></p>
`),
} as const
