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
<p class="lead">to continue to <span class="client"><%= it.clientName %></span></p>
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
  message: layout(`
<h1><%= it.title %></h1>
<p<% if (it.isError) { %> class="error" role="alert"<% } %>><%= it.message %></p>
`),
  home: layout(`
<h1>authcode</h1>
<p class="lead">OAuth 2.1 and OpenID Connect authorization server.</p>
<p>Issuer: <code><%= it.issuer %></code></p>
<p>Metadata: <a href="<%= it.basePath %>/.well-known/openid-configuration">OpenID configuration</a></p>
`),
} as const
