// The demo app's one script (served as /app.js; the CSP allows scripts from the app only). Every
// page works without it; with it, times show in the viewer's locale and time zone, and the chat
// shows messages as they arrive. It builds nodes with textContent only: nothing is parsed as HTML.
'use strict'

/** `<time datetime>` elements, in the viewer's locale: the time only for `data-style="time"`. */
function localizeTimes(root) {
  for (const element of root.querySelectorAll('time[datetime]')) {
    const date = new Date(element.dateTime)
    if (Number.isNaN(date.getTime())) continue
    element.textContent = element.dataset.style === 'time' ? date.toLocaleTimeString() : date.toLocaleString()
    element.title = date.toISOString()
  }
}

/** One chat message, as the server renders it (src/views.ts, template `message`). */
function messageItem(message) {
  const item = document.createElement('li')
  const sender = document.createElement('span')
  sender.className = message.mine ? 'sender mine' : 'sender'
  sender.textContent = message.sender
  const time = document.createElement('time')
  time.dateTime = message.sentAt
  time.dataset.style = 'time'
  const text = document.createElement('span')
  text.className = 'text'
  text.textContent = message.text
  item.append(sender, ' ', time, text)
  localizeTimes(item)
  return item
}

/** The chat's list follows /chat/events (server-sent events) while the page is open. */
function followChat(list) {
  const events = new EventSource(list.dataset.live)
  events.addEventListener('open', () => {
    list.dataset.state = 'live'
  })
  events.addEventListener('message', (event) => {
    list.querySelector('li.empty')?.remove()
    list.append(messageItem(JSON.parse(event.data)))
    list.scrollTop = list.scrollHeight
  })
  events.addEventListener('closed', (event) => {
    events.close()
    const status = document.getElementById('chat-status')
    if (status === null) return
    status.className = 'error'
    status.textContent = `The broker closed the subscription: ${JSON.parse(event.data).reason}. Reload the page to reconnect.`
  })
}

/**
 * The handshake diagram scrolls sideways on a small screen: then (only then) its frame takes the
 * keyboard focus, so that it can be scrolled without a pointer.
 */
function focusableWhenScrolling(frame) {
  const update = () => {
    if (frame.scrollWidth > frame.clientWidth) frame.tabIndex = 0
    else frame.removeAttribute('tabindex')
  }
  update()
  addEventListener('resize', update)
}

localizeTimes(document)
for (const frame of document.querySelectorAll('.handshake-scroll')) focusableWhenScrolling(frame)
const chat = document.getElementById('messages')
if (chat !== null && chat.dataset.live !== undefined) followChat(chat)
