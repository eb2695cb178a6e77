/*
 * Passkeys on the login and account pages, over @simplewebauthn/browser (served beside this file
 * as /assets/webauthn.js, the global SimpleWebAuthnBrowser). No inline script: the page's form
 * carries the options (data-options, made by the server with a fresh challenge), this script runs
 * the browser's ceremony and posts the result in the form's hidden "credential" field. Without
 * WebAuthn (or without this script) the passkey forms stay hidden.
 *
 * data-mode="authenticate": the "Sign in with a passkey" button, and the browser's autofill
 * (conditional mediation) on the username field marked autocomplete="username webauthn".
 * data-mode="register": the account page's "Add a passkey" form, named by the user.
 */
(function () {
  'use strict'
  var lib = window.SimpleWebAuthnBrowser
  var form = document.getElementById('passkey-form')
  if (!lib || !form || !lib.browserSupportsWebAuthn()) return
  var options = JSON.parse(form.getAttribute('data-options'))
  var status = form.querySelector('[data-passkey-status]')
  form.hidden = false

  function submit(credential) {
    form.elements.credential.value = JSON.stringify(credential)
    form.submit()
  }

  function failed(error) {
    // The user closed the browser's dialog, or no passkey was there: say so, and let them try again.
    if (error && error.name === 'AbortError') return
    if (status) status.textContent = form.getAttribute('data-failed')
  }

  if (form.getAttribute('data-mode') === 'register') {
    form.addEventListener('submit', function (event) {
      if (form.elements.credential.value !== '') return
      event.preventDefault()
      if (status) status.textContent = ''
      lib.startRegistration({ optionsJSON: options }).then(submit, failed)
    })
    return
  }

  var button = form.querySelector('button')
  button.addEventListener('click', function () {
    if (status) status.textContent = ''
    lib.startAuthentication({ optionsJSON: options }).then(submit, failed)
  })
  if (document.querySelector('input[autocomplete~="webauthn"]')) {
    lib.browserSupportsWebAuthnAutofill().then(function (supported) {
      if (!supported) return
      lib.startAuthentication({ optionsJSON: options, useBrowserAutofill: true }).then(submit, function () {})
    })
  }
})()
