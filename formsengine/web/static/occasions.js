// Starting an assessment: the occasion list shows only the chosen assessment's occasions
// (without script it shows every assessment's, grouped, and the server refuses a pair that
// does not go together). Choosing another assessment chooses its next occasion due.
document.querySelectorAll('select[data-occasion-select]').forEach((instrument) => {
  const occasion = document.getElementById(instrument.dataset.occasionSelect)
  if (!occasion) return
  const groups = {}
  occasion.querySelectorAll('optgroup[data-instrument]').forEach((group) => {
    groups[group.dataset.instrument] = Array.from(group.querySelectorAll('option'))
  })
  const show = (keep) => {
    const options = groups[instrument.value] || []
    const chosen = instrument.selectedOptions[0]
    const wanted = keep && options.some((o) => o.value === keep)
      ? keep
      : (chosen ? chosen.dataset.next : null)
    occasion.replaceChildren(...options.map((o) => {
      const copy = o.cloneNode(true)
      copy.selected = copy.value === wanted
      return copy
    }))
  }
  // on load keep the occasion shown as chosen (a refused start keeps what was chosen)
  show(occasion.value)
  instrument.addEventListener('change', () => show(null))
})
