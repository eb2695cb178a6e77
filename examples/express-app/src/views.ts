/**
 * The demo app's pages. Eta escapes every `<%= %>` output; `<%~ %>` only inserts other templates
 * (and the handshake diagram, itself an eta template with every value escaped: src/handshake-svg.ts).
 * No inline script: one file, `/app.js` (public/app.js), shows times in the viewer's locale and adds
 * the chat's live messages, so the app's CSP allows scripts from itself only. Every page works
 * without it.
 */
import { Eta } from 'eta'

const eta = new Eta({ autoEscape: true, autoTrim: false, cache: true })

const TEMPLATES: Record<string, string> = {
  layout: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title><%= it.title %></title><link rel="stylesheet" href="/style.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"><script src="/app.js" defer></script></head>
<body><header>authcode demo app</header><main><h1><%= it.title %></h1>
<%~ it.body %>
</main></body></html>`,
  logout: `<form method="post" action="/logout"><button class="secondary">Log out</button></form>`,
  login: `<form method="get" action="/login"><input type="hidden" name="returnTo" value="/dashboard"><button><%= it.label %></button></form>`,
  home: `<% layout('@layout') %>
<% if (it.signedOut) { %><p class="notice" role="status" id="signed-out">You are signed out: this app dropped your session and revoked its tokens.</p><% } %>
<% if (it.signedIn) { %><p>You are signed in.</p>
<form method="get" action="/dashboard"><button>Dashboard</button></form><%~ include('@logout') %>
<% } else { %><p>This app signs you in with the OAuth 2.0 authorization code flow (PKCE, state, nonce) at
<code><%= it.issuer %></code>. Your tokens stay on this app's server.</p>
<%~ include('@login', { label: 'Log in' }) %>
<% } %>
<p><a href="/handshake">See the last handshake in this browser</a></p>`,
  dashboard: `<% layout('@layout') %>
<% if (it.refreshed) { %><p class="note">The tokens were refreshed.</p><% } %>
<p><% if (it.name !== undefined) { %>Welcome, <strong id="name"><%= it.name %></strong>.<% } else { %>Welcome.<% } %></p>
<dl>
  <dt>Granted scopes</dt><dd id="scopes"><% if (it.scopes.length === 0) { %>(none reported)<% } %><% it.scopes.forEach(function (scope, i) { %><%= i > 0 ? ' ' : '' %><code><%= scope %></code><% }) %></dd>
  <dt>Access token expires</dt><dd id="expiry"><% if (it.expiresAt === undefined) { %>not reported by the server<% } else { %><time datetime="<%= it.expiresAt %>"><%= it.expiresAtText %></time> (in <%= it.expiresIn %> s)<% } %></dd>
  <dt>Subject</dt><dd><code><%= it.sub %></code></dd>
</dl>
<p class="note">The tokens themselves never leave this app's server.</p>
<form method="post" action="/api"><button>Call the API</button></form>
<form method="post" action="/refresh"><button class="secondary">Refresh tokens</button></form>
<form method="get" action="/chat"><button class="secondary">Chat</button></form>
<%~ include('@logout') %>
<p><a href="/handshake" id="handshake-link">See the handshake, drawn</a></p>
<p><a href="<%= it.accountUrl %>" id="account-link">Your connected apps at the authorization server</a> (remove this app's access there; it notices at its next call to the server)</p>`,
  api: `<% layout('@layout') %>
<p>GET <code><%= it.endpoint %></code> with the session's access token answered
<strong id="status"><%= it.status %></strong>:</p>
<pre id="result"><%= it.result %></pre>
<form method="get" action="/dashboard"><button class="secondary">Back to the dashboard</button></form>`,
  message: `<li><span class="sender<%= it.mine ? ' mine' : '' %>"><%= it.sender %></span> <time datetime="<%= it.sentAt %>" data-style="time"><%= it.sentAtText %></time><span class="text"><%= it.text %></span></li>`,
  chat: `<% layout('@layout') %>
<% if (it.notice === 'sent') { %><p class="note" id="chat-notice">Message sent.</p><% } %>
<% if (it.notice === 'invalid') { %><p class="error" id="chat-error">Write a message of 1 to 2000 characters.</p><% } %>
<% if (it.refused !== undefined) { %><p class="error" id="chat-error">The broker refused the message: <strong><%= it.refused %></strong></p><% } %>
<% if (it.status === 'open') { %><p class="note" id="chat-status">Subscribed to room <code><%= it.room %></code> at <code><%= it.roomUrl %></code> with your access token (held by this app). New messages appear as they arrive.</p>
<% } else { %><p class="error" id="chat-status">The broker <%= it.status === 'closed' ? 'closed the subscription' : 'has not answered yet' %><% if (it.reason !== undefined) { %>: <strong id="chat-reason"><%= it.reason %></strong><% } %></p>
<form method="post" action="/chat/reconnect"><button class="secondary">Reconnect</button></form>
<% } %>
<ul id="messages" class="messages" aria-live="polite"<% if (it.status === 'open') { %> data-live="/chat/events?since=<%= it.since %>"<% } %>><% if (it.messages.length === 0) { %><li class="empty note">No messages since you opened the chat.</li><% } %><% it.messages.forEach(function (m) { %><%~ include('@message', m) %><% }) %></ul>
<form method="post" action="/chat" class="chat-form"><label for="message">Message</label><input id="message" name="message" maxlength="2000" required autocomplete="off"><button>Send</button></form>
<form method="get" action="/dashboard"><button class="secondary">Back to the dashboard</button></form>`,
  handshake: `<% layout('@layout') %>
<% if (it.failure !== undefined) { %><p class="error" id="failure"><%= it.failure %></p><% } %>
<p id="handshake-summary"<% if (it.outcome === 'failed') { %> class="outcome-failed"<% } %>><%= it.summary %></p>
<% if (it.diagram !== undefined) { %>
<div class="handshake-views">
<figure class="handshake"><div class="handshake-scroll" role="group" aria-label="The handshake diagram"><%~ it.diagram %></div>
<figcaption>Front channel rows are blue, back channel rows amber; dotted arrows are derived from what the client backend saw at the callback. Codes, tokens, state and the PKCE verifier appear only as fingerprints.</figcaption></figure>
<section class="handshake-text" aria-labelledby="steps-heading"><h2 id="steps-heading">The same steps as text</h2>
<ol class="handshake-steps" id="handshake-steps" aria-labelledby="steps-heading"><% it.steps.forEach(function (s) { %><li<% if (s.failed) { %> class="failed"<% } %>><%= s.text %></li><% }) %></ol>
<% if (it.dropped > 0) { %><p class="note"><%= it.dropped %> later steps were not recorded.</p><% } %></section>
</div>
<% } %>
<nav aria-label="Where next"><p><% if (it.signedIn) { %><a href="/dashboard">Back to the dashboard</a> · <% } else { %><a href="/login?returnTo=%2Fdashboard">Log in<%= it.failure !== undefined ? ' again' : '' %></a> · <% } %><a href="/">Home</a></p></nav>`,
  page: `<% layout('@layout') %>
<p<% if (it.isError) { %> class="error"<% } %> id="message"><%= it.text %></p>
<% if (it.login) { %><%~ include('@login', { label: 'Log in again' }) %><% } %>
<p><% if (it.handshake) { %><a href="/handshake">See the last handshake in this browser</a> · <% } %><a href="/">Home</a></p>`,
}

for (const [name, template] of Object.entries(TEMPLATES)) eta.loadTemplate(`@${name}`, template)

export type View = 'home' | 'dashboard' | 'api' | 'chat' | 'handshake' | 'page'

/** A whole page: `data` needs a `title`, and what the view shows. */
export function render(view: View, data: { title: string } & Record<string, unknown>): string {
  return eta.render(`@${view}`, data)
}

