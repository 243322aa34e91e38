// Progressive enhancement only: every page works without this script.
import { initAll } from './govuk/govuk-frontend.min.js'
import { holds, numberOf } from './conditions.js'

document.body.classList.add('js-enabled')
if ('noModule' in HTMLScriptElement.prototype) {
  document.body.classList.add('govuk-frontend-supported')
}
initAll()

// Conditional reveals: GOV.UK Frontend marks a radio that opens a follow-up with
// aria-expanded, which ARIA does not allow on a radio (checkboxes keep it); the open block
// itself says what is shown. Taken off after GOV.UK Frontend's own click and pageshow handlers.
function dropRadioExpanded () {
  document.querySelectorAll('.govuk-radios__input[aria-expanded]').forEach(function (input) {
    input.removeAttribute('aria-expanded')
  })
}
dropRadioExpanded()
document.addEventListener('click', dropRadioExpanded)
window.addEventListener('pageshow', dropRadioExpanded)

// Show-when conditions: the questions of the page appear and disappear as answers change,
// decided by conditions.js on the condition the server compiled for this page (the same
// meaning as the server's; the server checks again when the page is saved).
function valueOf (form, itemId) {
  const question = form.querySelector('.app-question[data-item="' + CSS.escape(itemId) + '"]')
  if (!question || question.hidden) return undefined // not asked: not known
  // formbuild.answer_name: an instance of a repeating group children[2].age is children--2-age
  const name = 'q-' + itemId.split('[').join('--').split(']').join('').split('.').join('-')
  const kind = question.dataset.kind
  const inputs = Array.from(question.querySelectorAll('[name="' + name + '"]'))
  if (kind === 'date') {
    const part = (p) => (question.querySelector('[name="' + name + '-' + p + '"]') || {}).value || ''
    const [d, m, y] = ['day', 'month', 'year'].map((p) => part(p).trim())
    if (!d || !m || !y) return undefined
    const day = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)))
    const real = /^\d{4}$/.test(y) && /^\d{1,2}$/.test(m) && /^\d{1,2}$/.test(d) &&
      day.getUTCFullYear() === Number(y) && day.getUTCMonth() === Number(m) - 1 &&
      day.getUTCDate() === Number(d)
    return real ? { date: [y, m, d] } : undefined // a date equals no word or number
  }
  if (inputs.length === 0) return undefined
  if (inputs[0].type === 'radio') {
    const checked = inputs.find((i) => i.checked)
    return checked ? checked.value : undefined
  }
  if (inputs[0].type === 'checkbox') {
    const values = inputs.filter((i) => i.checked).map((i) => i.value)
    return values.length ? values : undefined
  }
  const raw = inputs[0].value
  if (kind === 'integer' || kind === 'number') {
    const bound = (x) => (x === undefined ? undefined : Number(x))
    return raw.trim() === '' ? undefined
      : numberOf(raw, kind, bound(question.dataset.min), bound(question.dataset.max))
  }
  const text = kind === 'text' ? raw : raw.trim()
  return text === '' ? undefined : text
}

function recordShown (form) {
  const field = form.querySelector('input[name="shown"]')
  if (!field) return
  const ids = []
  form.querySelectorAll('.app-question').forEach((q) => {
    if (!q.hidden) ids.push(q.dataset.item)
  })
  field.value = ids.join(',')
}

function update (form) {
  for (let pass = 0; pass < 5; pass++) {
    let changed = false
    form.querySelectorAll('[data-show-when]').forEach((q) => {
      const show = holds(JSON.parse(q.dataset.showWhen), (id) => valueOf(form, id))
      if (q.hidden === show) {
        q.hidden = !show
        changed = true
      }
    })
    if (!changed) break
  }
  recordShown(form)
}

document.querySelectorAll('form.app-assessment-form').forEach((form) => {
  form.addEventListener('change', () => update(form))
  form.addEventListener('input', () => update(form))
  update(form)
})

// Calculated values: the server computed them from the answers saved so far. Nothing is
// computed here; once an answer on the page changes they are marked out of date until the
// page is saved (which shows them computed again).
function markCalculatedStale (form, event) {
  if (!event.target.closest || !event.target.closest('.app-question')) return
  form.querySelectorAll('[data-calculated]:not(.app-calculated--stale)').forEach((box) => {
    box.classList.add('app-calculated--stale')
    box.querySelectorAll('.app-calculated__tag').forEach((tag) => {
      tag.textContent = 'Out of date'
      tag.classList.replace('govuk-tag--grey', 'govuk-tag--yellow')
    })
    const note = box.querySelector('.app-calculated__stale')
    if (note) note.textContent = note.dataset.staleText
  })
}
document.querySelectorAll('form.app-assessment-form').forEach((form) => {
  form.addEventListener('change', (event) => markCalculatedStale(form, event))
  form.addEventListener('input', (event) => markCalculatedStale(form, event))
})

// Exit this page. GOV.UK's component (initialised above) navigates to its link, the
// service's exit route, which ends the session on the server. Here that navigation also
// ends the session with a POST carrying the CSRF token (a beacon: it is sent even as the
// page goes), and replaces the page's entry in the browser history rather than adding one
// after it, so that Back does not lead to the page that was left. Other tabs of the
// service open in the same browser leave too.
const exitLink = document.querySelector('.govuk-exit-this-page__button')
const csrfMeta = document.querySelector('meta[name="csrf-token"]')
if (exitLink && window.navigation) {
  const exitPath = new URL(exitLink.href).pathname
  const tabs = window.BroadcastChannel ? new BroadcastChannel('formsengine-exit') : null
  window.navigation.addEventListener('navigate', (event) => {
    if (event.navigationType !== 'push' || !event.cancelable) return
    if (new URL(event.destination.url).pathname !== exitPath) return
    event.preventDefault()
    if (csrfMeta && navigator.sendBeacon) {
      const data = new URLSearchParams({ csrf_token: csrfMeta.content })
      navigator.sendBeacon(exitLink.href, data)
    }
    if (tabs) tabs.postMessage('exit')
    window.location.replace(event.destination.url)
  })
  if (tabs) {
    tabs.addEventListener('message', (event) => {
      if (event.data !== 'exit') return
      document.body.classList.add('govuk-exit-this-page-hide-content')
      window.location.replace(exitLink.href)
    })
  }
}

// Idle timeout. The server ends a session after data-idle-timeout seconds without a
// request. Typing and clicking count as activity: they are sent as a keep-alive, at most
// once per `keepAliveEvery`. Before the deadline a warning is shown (and announced; it
// takes the focus only when no field has it); shortly before it, a section form with
// changes is saved as a draft; at the deadline the page goes to the sign-in page, which
// returns here afterwards. The times come from the server (data-idle-left and
// /session/status), so activity in another tab of the same session is taken into account.
const body = document.body
const idle = Number(body.dataset.idleTimeout || 0)
const banner = document.getElementById('timeout-warning')
if (idle > 0 && banner) {
  const warnBefore = Math.min(Number(body.dataset.idleWarning), idle / 3)
  // two minutes before a 30-minute deadline: browsers may run a background tab's timers
  // up to a minute late
  const saveBefore = Math.min(120, Math.max(4, warnBefore / 2))
  const keepAliveEvery = Math.min(60, Math.max(3, idle / 6))
  const announce = document.getElementById('timeout-announce')
  const savedNote = document.getElementById('timeout-saved')
  const form = document.querySelector('form[data-save-when-idle]')
  let deadline = Date.now() + Number(body.dataset.idleLeft || idle) * 1000
  let timer = null
  let lastKeepAlive = Date.now()
  let pendingKeepAlive = null
  let dirty = false

  const secondsLeft = () => (deadline - Date.now()) / 1000
  const plan = (seconds) => {
    clearTimeout(timer)
    timer = setTimeout(checkpoint, Math.max(0, seconds) * 1000)
  }
  const schedule = () => {
    const left = secondsLeft()
    if (left > warnBefore) plan(left - warnBefore)
    else if (left > saveBefore) plan(left - saveBefore)
    else plan(left + 1)
  }
  const inWords = (seconds) => {
    const s = Math.max(1, Math.round(seconds))
    if (s < 90) return s + ' seconds'
    return Math.round(s / 60) + ' minutes'
  }
  const leaving = () => body.classList.contains('govuk-exit-this-page-hide-content')
  const signIn = () => {
    if (leaving()) return // Exit this page is under way: it goes elsewhere
    const here = window.location.pathname + window.location.search
    window.location.assign(body.dataset.signInUrl + '?' + new URLSearchParams({ next: here }))
  }
  const request = (url, options) => window.fetch(url, {
    credentials: 'same-origin',
    ...options,
    headers: { Accept: 'application/json', ...(options.headers || {}) }
  })

  const showWarning = (left) => {
    const text = 'You will be signed out in ' + inWords(left) +
      ' unless you type or click on the page.'
    if (banner.hidden) {
      banner.hidden = false
      const active = document.activeElement
      if (!active || active === document.body) banner.focus()
      announce.textContent = text
    }
  }
  const hideWarning = () => {
    if (banner.hidden) return
    banner.hidden = true
    announce.textContent = ''
  }

  // The section's own save (a draft), sent as the "Save and continue" button would, but
  // not counted as activity. It answers with a redirect when it saved.
  const post = (fields) => request(form.action, {
    method: 'POST', body: fields, headers: { 'X-Idle-Save': '1' }, redirect: 'manual'
  })
  // The names of the fields a refused save points at (its error summary links to them),
  // or null when a problem is not about one field.
  const refusedFields = async (response) => {
    if (response.status !== 400) return null
    const page = new window.DOMParser().parseFromString(await response.text(), 'text/html')
    const problems = Array.from(page.querySelectorAll('.govuk-error-summary__list li'))
    const names = problems.map((li) => li.querySelector('a[href^="#"]')?.getAttribute('href').slice(1))
    return names.length && names.every(Boolean) ? names : null
  }
  const saveDraft = async () => {
    if (!form || !dirty) return
    dirty = false
    let saved = false
    let partly = false
    try {
      const fields = new URLSearchParams(new FormData(form))
      let response = await post(fields)
      const refused = await refusedFields(response)
      if (refused) {
        // a value the save refuses (a word in a number box, say) is left out, so that
        // everything else typed is kept
        for (const name of refused) {
          for (const part of ['', '-day', '-month', '-year']) fields.delete(name + part)
        }
        response = await post(fields)
        partly = true
      }
      saved = response.type === 'opaqueredirect'
    } catch (error) {
      saved = false
    }
    if (saved) {
      // each save moves the draft's revision on by one: a later save from this page is
      // not mistaken for someone else's change
      const revision = form.querySelector('input[name="revision"]')
      if (revision && /^\d+$/.test(revision.value)) revision.value = String(Number(revision.value) + 1)
      if (partly) savedNote.textContent = savedNote.dataset.partly
      savedNote.hidden = false
      announce.textContent = savedNote.textContent
    } else {
      dirty = true
    }
  }

  async function checkpoint () {
    let response
    try {
      response = await request(body.dataset.statusUrl, { method: 'GET' })
    } catch (error) {
      plan(5) // the network is down for a moment: ask again shortly
      return
    }
    if (response.status === 401) return signIn()
    if (!response.ok) return plan(5)
    const left = (await response.json()).remaining
    deadline = Date.now() + left * 1000
    if (left > warnBefore + 1) {
      hideWarning()
    } else {
      showWarning(left)
      if (left <= saveBefore + 1) await saveDraft()
    }
    schedule()
  }

  const keepAlive = async () => {
    clearTimeout(pendingKeepAlive)
    pendingKeepAlive = null
    lastKeepAlive = Date.now()
    let response
    try {
      response = await request(body.dataset.extendUrl, {
        method: 'POST',
        headers: { 'X-CSRFToken': csrfMeta.content }
      })
    } catch (error) {
      return // the next checkpoint asks the server again
    }
    if (response.status === 401) return signIn()
    if (!response.ok) return
    deadline = Date.now() + (await response.json()).remaining * 1000
    hideWarning()
    schedule()
  }
  const activity = (event) => {
    // (the warning's own button sends its keep-alive when it is pressed)
    if (leaving() || event.target.closest?.('.govuk-exit-this-page, #timeout-warning')) return
    if (event.type !== 'keydown' && event.type !== 'pointerdown') dirty = true
    if (!banner.hidden) return keepAlive()
    const since = Date.now() - lastKeepAlive
    if (since >= keepAliveEvery * 1000) return keepAlive()
    if (!pendingKeepAlive) pendingKeepAlive = setTimeout(keepAlive, keepAliveEvery * 1000 - since)
  }
  document.addEventListener('keydown', activity, { capture: true, passive: true })
  document.addEventListener('pointerdown', activity, { capture: true, passive: true })
  if (form) {
    form.addEventListener('input', activity)
    form.addEventListener('change', activity)
    form.addEventListener('submit', () => { dirty = false })
  }
  // back to a tab that was in the background: ask the server at once
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') checkpoint()
  })
  banner.querySelector('form').addEventListener('submit', (event) => {
    event.preventDefault()
    keepAlive()
  })
  schedule()
}
