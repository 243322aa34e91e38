// Progressive enhancement only: every page works without this script.
import { initAll } from './govuk/govuk-frontend.min.js'

document.body.classList.add('js-enabled')
if ('noModule' in HTMLScriptElement.prototype) {
  document.body.classList.add('govuk-frontend-supported')
}
initAll()

// Show-when conditions: the server decides what is shown after each save; here the
// questions of the page appear and disappear as answers change.
function valueOf (form, itemId, known) {
  const name = 'q-' + itemId.split('.').join('-')
  const inputs = form.querySelectorAll('[name="' + name + '"]')
  if (inputs.length === 0) return known[itemId]
  const first = inputs[0]
  const question = first.closest('.app-question')
  if (question && question.hidden) return undefined
  if (first.type === 'radio') {
    const checked = Array.from(inputs).find((i) => i.checked)
    return checked ? checked.value : undefined
  }
  if (first.type === 'checkbox') {
    const values = Array.from(inputs).filter((i) => i.checked).map((i) => i.value)
    return values.length ? values : undefined
  }
  return first.value === '' ? undefined : first.value
}

function holds (cond, form, known) {
  if (cond.all) return cond.all.every((c) => holds(c, form, known))
  if (cond.any) return cond.any.some((c) => holds(c, form, known))
  if (cond.not) return !holds(cond.not, form, known)
  if (!cond.item) return true // conditions on fields: left to the server
  const actual = valueOf(form, cond.item, known)
  if (actual === undefined) return 'answered' in cond ? cond.answered === false : false
  if ('answered' in cond) return cond.answered === true
  if ('equals' in cond) return actual === cond.equals
  if ('in' in cond) return cond.in.includes(actual)
  if ('includes' in cond) return Array.isArray(actual) && actual.includes(cond.includes)
  return false
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

function update (form, known) {
  for (let pass = 0; pass < 5; pass++) {
    let changed = false
    form.querySelectorAll('[data-show-when]').forEach((q) => {
      const show = holds(JSON.parse(q.dataset.showWhen), form, known)
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
  const known = JSON.parse(form.dataset.known || '{}')
  form.addEventListener('change', () => update(form, known))
  update(form, known)
})

// Idle timeout: warn before the server ends the session; "Stay signed in" extends it.
const body = document.body
const idle = parseInt(body.dataset.idleTimeout || '0', 10)
const warnBefore = parseInt(body.dataset.idleWarning || '0', 10)
const banner = document.getElementById('timeout-warning')
if (idle > 0 && banner) {
  let warnTimer, outTimer
  const schedule = () => {
    clearTimeout(warnTimer)
    clearTimeout(outTimer)
    warnTimer = setTimeout(() => {
      banner.hidden = false
      banner.focus()
    }, Math.max(0, idle - warnBefore) * 1000)
    outTimer = setTimeout(() => {
      window.location.assign(body.dataset.signedOutUrl)
    }, idle * 1000 + 2000)
  }
  schedule()
  banner.querySelector('form').addEventListener('submit', (event) => {
    event.preventDefault()
    const token = document.querySelector('meta[name="csrf-token"]').content
    fetch(body.dataset.extendUrl, {
      method: 'POST',
      headers: { 'X-CSRFToken': token, Accept: 'application/json' },
      credentials: 'same-origin'
    }).then((response) => {
      if (response.ok) {
        banner.hidden = true
        schedule()
      } else {
        window.location.assign(body.dataset.signedOutUrl)
      }
    })
  })
}
