// Show-when conditions as the page evaluates them: the same meaning as the server's
// formsengine/conditions.py, on the form the server compiles for each page
// (conditions.page_program): tests of the page's own items, and {"const": true|false} for
// everything the server has already decided from the stored answers and fields.
//
// holds(program, valueOf) is true when the question is shown; valueOf(itemId) gives the
// item's answer as the server would hold it: undefined when not known, a string for a
// choice, an array of strings for a multiple choice, a number for a number item.

const COMPARE = {
  gte: (a, b) => a >= b,
  gt: (a, b) => a > b,
  lte: (a, b) => a <= b,
  lt: (a, b) => a < b
}

// Python's == on the values a condition can name: strings and numbers (1 == 1.0; a string
// is never equal to a number), lists element by element.
function same (a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((x, i) => same(x, b[i]))
  }
  return a === b
}

function isNumber (x) {
  return typeof x === 'number'
}

function compare (cond, actual) {
  if (actual === undefined || actual === null) return cond.answered === false
  const tests = []
  if ('answered' in cond) tests.push(cond.answered === true)
  if ('equals' in cond) tests.push(same(actual, cond.equals))
  if ('in' in cond) tests.push(cond.in.some((v) => same(actual, v)))
  if ('includes' in cond) tests.push(Array.isArray(actual) && actual.some((v) => same(v, cond.includes)))
  for (const op of Object.keys(COMPARE)) {
    if (op in cond) tests.push(isNumber(actual) && isNumber(cond[op]) && COMPARE[op](actual, cond[op]))
  }
  if ('between' in cond) {
    const [low, high] = cond.between
    tests.push(isNumber(actual) && isNumber(low) && isNumber(high) && low <= actual && actual <= high)
  }
  return tests.length > 0 && tests.every(Boolean)
}

export function holds (cond, valueOf) {
  if ('const' in cond) return cond.const === true
  if (cond.all) return cond.all.every((c) => holds(c, valueOf))
  if (cond.any) return cond.any.some((c) => holds(c, valueOf))
  if (cond.not) return !holds(cond.not, valueOf)
  if ('item' in cond) return compare(cond, valueOf(cond.item))
  return false // nothing else reaches a page: the server decides it
}

// A number typed in a box, as Python's int() or float() reads it (underscores between
// digits allowed, spaces around it); undefined when the server would refuse it.
const INTEGER = /^[+-]?\d(_?\d)*$/
const DECIMAL = /^[+-]?(\d(_?\d)*(\.(\d(_?\d)*)?)?|\.\d(_?\d)*)([eE][+-]?\d(_?\d)*)?$/
export function numberOf (text, kind, min, max) {
  const t = text.trim()
  let value
  if (kind === 'integer') {
    if (!INTEGER.test(t)) return undefined
    value = Number(t.replaceAll('_', ''))
  } else {
    if (/^[+-]?(inf|infinity)$/i.test(t)) value = t.startsWith('-') ? -Infinity : Infinity
    else if (DECIMAL.test(t)) value = Number(t.replaceAll('_', ''))
    else return undefined
    if (Number.isNaN(value)) return undefined
  }
  if (min !== undefined && min !== null && value < min) return undefined
  if (max !== undefined && max !== null && value > max) return undefined
  return value
}

globalThis.formsengineConditions = { holds, numberOf }
