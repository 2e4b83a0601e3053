/**
 * The console page's script (served at `/console/app.js`): plain browser JavaScript, no
 * build step and nothing from another host. It reads `/api/console/…`, sends the CSRF
 * header on every state-changing request, follows `/api/console/events` to update Now and
 * Actions without a reload, and renders operator controls only for an operator.
 *
 * Elements carry what a browser test looks for: `data-key` and `data-status` on action
 * rows, `data-id` on approvals and pauses, `data-slo` on SLO boxes, `data-ready` on the
 * body once the first view is drawn.
 */
export const CONSOLE_JS = String.raw`(() => {
  'use strict'
  const CSRF = document.body.dataset.csrfHeader
  const STATUSES = ['succeeded', 'failed', 'timed_out', 'error', 'awaiting_approval', 'held', 'denied', 'approval_expired',
    'skipped_paused', 'gated', 'circuit_open', 'cancelled_resolved', 'dry_run', 'skipped_duplicate', 'not_effective']
  const $ = (id) => document.getElementById(id)
  let me = { name: '?', role: 'viewer', open: false }
  let uid = 0

  /** el('td', { class: 'x', data: { key: 'k' }, text: 'hi' }, child...) */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue
      if (k === 'text') e.textContent = String(v)
      else if (k === 'class') e.className = v
      else if (k === 'data') for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = String(dv)
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v)
      else e.setAttribute(k, v === true ? '' : String(v))
    }
    for (const c of children.flat(Infinity)) if (c !== undefined && c !== null) e.append(c)
    return e
  }
  const isOperator = () => me.role === 'operator'
  const announce = (msg) => { $('live').textContent = msg }
  const showError = (msg) => { $('error').textContent = msg || '' }
  const iso = (ms) => (ms === null || ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'))
  function left(ms) {
    if (ms === null || ms === undefined) return '—'
    const s = Math.max(0, Math.round(ms / 1000))
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60
    return (h ? h + 'h' : '') + (h || m ? m + 'm' : '') + r + 's'
  }

  async function api(path, options) {
    const res = await fetch('/api/console/' + path, Object.assign({ credentials: 'same-origin' }, options || {}))
    const text = await res.text()
    let body = null
    try { body = text ? JSON.parse(text) : null } catch (err) { body = { message: text } }
    if (!res.ok) {
      const msg = (body && ((body.error && body.error.message) || body.message)) || res.status + ' ' + res.statusText
      const err = new Error(msg)
      err.status = res.status
      err.body = body
      throw err
    }
    return body
  }
  function post(path, body) {
    const headers = { 'content-type': 'application/json' }
    headers[CSRF] = '1'
    return api(path, { method: 'POST', headers, body: JSON.stringify(body || {}) })
  }

  function labelled(labelText, input) {
    input.id = input.id || 'f' + ++uid
    return [el('label', { for: input.id, text: labelText }), input]
  }
  /** A label wrapping its field (inline forms). */
  function field(labelText, input) {
    input.id = input.id || 'f' + ++uid
    return el('label', { for: input.id }, labelText, input)
  }
  function table(headings, rows, emptyText, attrs) {
    if (rows.length === 0) return el('p', { class: 'empty', text: emptyText })
    return el('table', Object.assign({ class: 'list' }, attrs || {}),
      el('thead', {}, el('tr', {}, headings.map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, rows))
  }
  const card = (title, ...children) => el('section', { class: 'card' }, el('h2', { text: title }), children)
  const statusCell = (status) => el('td', { class: 'status status-' + status, text: status })

  // ------------------------------------------------------------ tabs
  const TABS = ['now', 'actions', 'alert', 'slos']
  let current = 'now'
  const loaded = {}
  function select(tab, focus) {
    if (!TABS.includes(tab)) tab = 'now'
    current = tab
    for (const t of TABS) {
      const button = $('tab-' + t)
      button.setAttribute('aria-selected', String(t === tab))
      button.tabIndex = t === tab ? 0 : -1
      $('panel-' + t).hidden = t !== tab
    }
    if (focus) $('tab-' + tab).focus()
    if (location.hash !== '#' + tab) history.replaceState(null, '', '#' + tab)
    if (!loaded[tab]) { loaded[tab] = true; LOADERS[tab]() }
  }
  for (const t of TABS) {
    const button = $('tab-' + t)
    button.addEventListener('click', () => select(t))
    button.addEventListener('keydown', (e) => {
      const i = TABS.indexOf(t)
      if (e.key === 'ArrowRight') select(TABS[(i + 1) % TABS.length], true)
      else if (e.key === 'ArrowLeft') select(TABS[(i + TABS.length - 1) % TABS.length], true)
      else return
      e.preventDefault()
    })
  }

  // ------------------------------------------------------------ Now
  async function loadNow() {
    try {
      const now = await api('now')
      renderNow(now)
      showError('')
    } catch (err) {
      showError('Could not load Now: ' + err.message)
    }
  }

  function answerControls(a) {
    if (!isOperator()) return el('td', { text: a.answer ? 'answered: ' + a.answer.decision + ' by ' + a.answer.by : '' })
    const reason = el('input', { type: 'text', id: 'reason-' + a.id, name: 'reason', placeholder: 'reason (optional)', data: { role: 'reason' } })
    const answer = (decision) => async () => {
      try {
        const res = await post('approvals/' + a.id + '/' + decision, { reason: reason.value })
        announce(res.message)
      } catch (err) {
        announce(err.message)
        showError(err.message)
      }
      loadNow()
    }
    const what = a.outcome.action + ' on ' + (a.outcome.service || a.outcome.team)
    return el('td', {},
      labelled('Reason for ' + what, reason),
      ' ',
      el('button', { type: 'button', id: 'approve-' + a.id, class: 'approve', data: { action: 'approve' }, 'aria-label': 'Approve ' + what, text: 'Approve', onclick: answer('approve') }),
      ' ',
      el('button', { type: 'button', id: 'deny-' + a.id, class: 'deny', data: { action: 'deny' }, 'aria-label': 'Deny ' + what, text: 'Deny', onclick: answer('deny') }))
  }

  function pauseForm() {
    const inputs = {
      team: el('input', { type: 'text', id: 'pause-team', name: 'team' }),
      service: el('input', { type: 'text', id: 'pause-service', name: 'service' }),
      action: el('input', { type: 'text', id: 'pause-action', name: 'action' }),
      matchers: el('input', { type: 'text', id: 'pause-matchers', name: 'matchers', placeholder: 'alertname="DiskFull"' }),
      for: el('input', { type: 'text', id: 'pause-for', name: 'for', value: '1h', required: true }),
      reason: el('input', { type: 'text', id: 'pause-reason', name: 'reason', required: true }),
    }
    const escalate = el('input', { type: 'checkbox', id: 'pause-escalate', name: 'escalate' })
    const form = el('form', { class: 'inline', id: 'pause-form', 'aria-label': 'Add a pause' },
      field('Team', inputs.team), field('Service', inputs.service), field('Action', inputs.action),
      field('Matchers', inputs.matchers), field('For', inputs.for), field('Reason', inputs.reason),
      field('Page on skip', escalate),
      el('button', { type: 'submit', id: 'pause-submit', text: 'Pause' }))
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      const body = { for: inputs.for.value, reason: inputs.reason.value, escalate: escalate.checked }
      for (const k of ['team', 'service', 'action']) if (inputs[k].value.trim()) body[k] = inputs[k].value.trim()
      if (inputs.matchers.value.trim()) body.matchers = [inputs.matchers.value.trim()]
      try {
        const res = await post('pauses', body)
        announce(res.message)
        showError('')
        form.reset()
      } catch (err) {
        announce(err.message)
        showError(err.message)
      }
      loadNow()
    })
    return form
  }

  function renderNow(now) {
    const panel = $('panel-now')
    // A live update redraws the panel: keep what was typed (the pause form itself is kept,
    // moved into the new panel) and where the focus was, by the controls' stable ids. Read
    // before anything moves: moving the pause form out takes the focus from its field.
    const focused = document.activeElement && panel.contains(document.activeElement) ? document.activeElement.id : ''
    const typed = [...panel.querySelectorAll('input[id]')].filter((i) => !i.form || i.form.id !== 'pause-form').map((i) => [i.id, i.value])
    const parts = []
    const rebuilding = now.progress.filter((p) => !p.caughtUp)
    if (rebuilding.length > 0)
      parts.push(card('Rebuilding the views', el('ul', { class: 'progress', id: 'progress' }, rebuilding.map((p) =>
        el('li', { data: { topic: p.topic }, text: p.topic + ': ' + p.read + ' of ' + p.target + ' records read' })))))
    parts.push(card('Waiting for approval', table(['action', 'team / service', 'alert', 'asked', 'times out in', 'answer'],
      now.approvals.map((a) => el('tr', { data: { id: a.id, key: a.key, status: 'awaiting_approval' } },
        el('td', { text: a.outcome.action }),
        el('td', { text: a.outcome.team + ' / ' + (a.outcome.service || '—') }),
        el('td', { text: a.outcome.alertname + ' ' + a.outcome.fingerprint }),
        el('td', { text: iso(a.askedAt) }),
        el('td', { text: left(a.timeLeftMs) }),
        answerControls(a))),
      'nothing waits for approval', { id: 'approvals' })))
    parts.push(card('Held (waiting before running)', table(['action', 'team / service', 'alert', 'runs in'],
      now.held.map((h) => el('tr', { data: { key: h.key, status: 'held' } },
        el('td', { text: h.outcome.action }),
        el('td', { text: h.outcome.team + ' / ' + (h.outcome.service || '—') }),
        el('td', { text: h.outcome.alertname + ' ' + h.outcome.fingerprint }),
        el('td', { text: left(h.timeLeftMs) }))),
      'nothing is held', { id: 'held' })))
    const pauseRows = now.pauses.map((p) => {
      const cells = [el('td', { text: p.text }), el('td', { text: left(p.timeLeftMs) })]
      if (isOperator()) {
        const reason = el('input', { type: 'text', id: 'lift-reason-' + p.id, name: 'reason', placeholder: 'reason (optional)' })
        const lift = async () => {
          try {
            const res = await post('pauses/' + encodeURIComponent(p.id) + '/lift', { reason: reason.value })
            announce(res.message)
          } catch (err) {
            announce(err.message)
            showError(err.message)
          }
          loadNow()
        }
        cells.push(el('td', {}, labelled('Reason to lift ' + p.id, reason), ' ',
          el('button', { type: 'button', id: 'lift-' + p.id, class: 'lift', data: { action: 'lift' }, 'aria-label': 'Lift ' + p.id, text: 'Lift', onclick: lift })))
      }
      return el('tr', { data: { id: p.id } }, cells)
    })
    parts.push(card('Pauses in force', table(isOperator() ? ['pause', 'ends in', 'lift'] : ['pause', 'ends in'], pauseRows, 'no pauses', { id: 'pauses' }),
      isOperator() ? el('h3', { text: 'Add a pause' }) : null, isOperator() ? $('pause-form') || pauseForm() : null))
    parts.push(card('Budgets not ok', table(['SLO', 'service', 'state', 'budget left', 'burn 1h'],
      now.budgets.map((b) => el('tr', { data: { slo: b.slo, state: b.state } },
        el('td', { text: b.slo }), el('td', { text: b.service + ' (' + b.team + ')' }),
        el('td', { class: 'state-' + b.state, text: b.state }),
        el('td', { text: (Math.round(b.remainingRatio * 10000) / 100) + '%' }),
        el('td', { text: (b.burnRates['1h'] === undefined ? '—' : Math.round(b.burnRates['1h'] * 100) / 100 + '×') }))),
      'every budget is ok', { id: 'budgets' })))
    if (now.running) parts.push(card('Actions running', table(['action', 'requests'],
      now.running.map((r) => el('tr', { data: { action: r.action } }, el('td', { text: r.action }), el('td', { text: String(r.count) }))),
      'nothing running in this process', { id: 'running' })))
    if (now.circuits) parts.push(card('Open circuits', table(['action', 'service'],
      now.circuits.map((c) => el('tr', { data: { action: c.action, service: c.service } }, el('td', { text: c.action }), el('td', { text: c.service }))),
      'every circuit is closed', { id: 'circuits' })))
    if (now.lag) parts.push(card('Consumer lag', table(['stage', 'topic', 'lag'],
      now.lag.map((l) => el('tr', { data: { stage: l.stage } }, el('td', { text: l.stage }), el('td', { text: l.topic }), el('td', { text: String(l.lag) }))),
      'no stage of this process reports lag', { id: 'lag' })))
    if (now.config) parts.push(card('Config files', table(['file', 'last edit', 'loaded'],
      now.config.map((c) => el('tr', { data: { file: c.file, ok: c.ok } }, el('td', { text: c.file }),
        el('td', { class: c.ok ? 'state-ok' : 'state-page', text: c.ok ? 'taken' : 'rejected: the last good version runs' }),
        el('td', { text: iso(c.loadedAt) }))),
      'no watched files', { id: 'config' })))
    panel.replaceChildren(...parts)
    for (const [id, value] of typed) if ($(id)) $(id).value = value
    if (focused && $(focused)) $(focused).focus()
  }

  // ------------------------------------------------------------ Actions
  const filters = {}
  let cursors = []
  function actionsQuery(cursor) {
    const q = new URLSearchParams()
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v)
    if (cursor) q.set('cursor', cursor)
    return q.toString()
  }
  async function loadActions(cursor) {
    try {
      const page = await api('actions?' + actionsQuery(cursor))
      renderActions(page, cursor)
      showError('')
    } catch (err) {
      showError('Could not load actions: ' + err.message)
    }
  }
  function actionsForm() {
    const text = (name) => el('input', { type: 'text', name })
    const status = el('select', { name: 'status' }, el('option', { value: '', text: 'any' }), STATUSES.map((s) => el('option', { value: s, text: s })))
    const since = el('input', { type: 'datetime-local', name: 'since' })
    const until = el('input', { type: 'datetime-local', name: 'until' })
    const inputs = { team: text('team'), service: text('service'), action: text('action') }
    const form = el('form', { class: 'inline', id: 'actions-form', 'aria-label': 'Filter actions' },
      field('Team', inputs.team), field('Service', inputs.service), field('Action', inputs.action), field('Status', status),
      field('Since', since), field('Until', until), el('button', { type: 'submit', text: 'Filter' }))
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      for (const k of Object.keys(inputs)) filters[k] = inputs[k].value.trim()
      filters.status = status.value
      filters.since = since.value ? String(new Date(since.value).getTime()) : ''
      filters.until = until.value ? String(new Date(until.value).getTime()) : ''
      cursors = []
      loadActions()
    })
    return form
  }
  function actionRow(r) {
    const o = r.outcome
    const row = el('tr', { class: 'row', tabindex: '0', data: { key: r.key, status: o.status }, 'aria-label': 'Details of ' + o.action + ' ' + o.status + ' at ' + iso(o.finishedAt) },
      el('td', { text: iso(o.finishedAt) }), el('td', { text: o.action }), statusCell(o.status),
      el('td', { text: o.team + ' / ' + (o.service || '—') }), el('td', { text: o.alertname }), el('td', { text: o.fingerprint }))
    const open = () => showAction(r.key)
    row.addEventListener('click', open)
    row.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open() } })
    return row
  }
  function renderActions(page, cursor) {
    const panel = $('panel-actions')
    const form = $('actions-form') || actionsForm()
    const next = page.next
      ? el('button', { type: 'button', id: 'next-page', text: 'Next page (older)', onclick: () => { cursors.push(cursor || ''); loadActions(page.next) } })
      : null
    const first = cursor ? el('button', { type: 'button', id: 'first-page', text: 'Newest', onclick: () => { cursors = []; loadActions() } }) : null
    panel.replaceChildren(
      el('section', { class: 'card' }, el('h2', { text: 'Actions' }), form),
      el('section', { class: 'card', id: 'actions-list', data: { cursor: cursor || '' } },
        el('p', { text: page.total + ' matching, newest first' + (cursor ? ' (older page)' : '') }),
        table(['finished', 'action', 'status', 'team / service', 'alert', 'fingerprint'], page.rows.map(actionRow), 'no actions match', { id: 'actions-table' }),
        el('p', {}, first, ' ', next)),
      // The detail a person opened stays open while the list follows the news.
      $('action-detail') || el('section', { class: 'card', id: 'action-detail', hidden: true, 'aria-live': 'polite' }))
  }
  async function showAction(key) {
    try {
      const r = await api('actions/' + encodeURIComponent(key))
      // Looked up after the answer: the list may have been redrawn meanwhile.
      const box = $('action-detail')
      const o = r.outcome
      const items = [
        ['idempotency key', r.key], ['status', o.status], ['action', o.action], ['route', o.route],
        ['team / service', o.team + ' / ' + (o.service || '—')], ['alert', o.alertname + ' ' + o.fingerprint + ' (starts ' + o.startsAt + ')'],
        ['attempts', String(o.attempts)], ['started', iso(o.startedAt)], ['finished', iso(o.finishedAt)],
        ['duration', o.durationMs === null ? '—' : o.durationMs + ' ms'], ['dry run', String(o.dryRun)],
        ['detail', o.detail || '—'], ['escalated to', o.escalatedTo || '—'], ['artifact', o.artifact || '—'],
        ['approved by', o.output.approvedBy || '—'], ['denied by', o.output.deniedBy || '—'],
        ['paused by', r.pause ? r.pause.id + ' (by ' + (r.pause.createdBy || '?') + ': ' + r.pause.reason + ')' : o.output.pause || '—'], ['SLO', o.slo || '—'], ['read at', r.position],
      ]
      const history = r.history.map((h) => el('li', { data: { status: h.status }, text: iso(h.finishedAt) + ' ' + h.status + (h.detail ? ': ' + h.detail : '') }))
      const alertLink = el('button', { type: 'button', text: 'Open the alert’s story', onclick: () => { select('alert'); searchAlert({ fingerprint: o.fingerprint }) } })
      box.replaceChildren(el('h2', { text: o.action + ' — ' + o.status }),
        el('dl', { class: 'detail', data: { key: r.key, status: o.status } }, items.map(([k, v]) => [el('dt', { text: k }), el('dd', { data: { field: k }, text: v })])),
        el('h3', { text: 'Params' }), r.request
          ? el('pre', { class: 'params', text: JSON.stringify(r.request.params, null, 2) })
          : el('p', { class: 'empty', text: 'its request is no longer kept' }),
        el('h3', { text: 'The alert it came from' }), r.request
          ? el('pre', { class: 'labels', text: JSON.stringify(r.request.labels, null, 2) })
          : el('p', { class: 'empty', text: o.alertname + ' ' + o.fingerprint }),
        el('h3', { text: 'Output' }), el('pre', { class: 'output', text: JSON.stringify(o.output, null, 2) }),
        el('h3', { text: 'Earlier records' }), history.length ? el('ul', {}, history) : el('p', { class: 'empty', text: 'none' }),
        alertLink)
      box.hidden = false
      box.scrollIntoView({ block: 'nearest' })
    } catch (err) {
      showError(err.message)
    }
  }

  // ------------------------------------------------------------ Alert
  function alertForm() {
    const fingerprint = el('input', { type: 'text', name: 'fingerprint', placeholder: '16 hex digits' })
    const matchers = el('input', { type: 'text', name: 'matchers', placeholder: 'alertname="DiskFull", team="payments"' })
    const form = el('form', { class: 'inline', id: 'alert-form', 'aria-label': 'Search an alert' },
      field('Fingerprint', fingerprint), field('or label matchers', matchers), el('button', { type: 'submit', text: 'Search' }))
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      searchAlert(fingerprint.value.trim() ? { fingerprint: fingerprint.value.trim() } : { matchers: matchers.value.trim() })
    })
    return form
  }
  function loadAlert() {
    $('panel-alert').replaceChildren(el('section', { class: 'card' }, el('h2', { text: 'Alert' }), alertForm()), el('div', { id: 'alert-results', 'aria-live': 'polite' }))
  }
  async function searchAlert(query) {
    if (!$('alert-form')) loadAlert()
    if (query.fingerprint) $('alert-form').elements.fingerprint.value = query.fingerprint
    const out = $('alert-results')
    try {
      const res = await api('alert?' + new URLSearchParams(query).toString())
      const stories = res.stories.map((s) => el('section', { class: 'card story', data: { fingerprint: s.fingerprint, complete: s.complete } },
        el('h2', { text: 'Alert ' + s.fingerprint }),
        s.complete ? null : el('p', { class: 'progress', text: 'part of this alert’s records were dropped (the views keep a bounded number)' }),
        el('h3', { text: 'Why (per episode, newest first)' }),
        s.episodes.map((e) => el('div', { class: 'verdict' + (e.verdict.fired ? ' fired' : ''), data: { startsAt: e.startsAt, fired: e.verdict.fired, furthest: e.verdict.furthest } },
          el('strong', { text: 'episode ' + e.startsAt + ': ' }), e.verdict.text)),
        el('h3', { text: 'Story' }),
        table(['time', 'stage', 'what', 'status', 'reason'], s.events.map((ev) => el('tr', { data: { stage: ev.stage, kind: ev.kind } },
          el('td', { text: iso(ev.at) }), el('td', { text: ev.stage }), el('td', { text: ev.text }), el('td', { text: ev.status }), el('td', { text: ev.reason || '' }))),
          'no records')))
      const more = res.fingerprints.length > res.stories.length
        ? el('p', { text: res.fingerprints.length + ' alerts match; the first ' + res.stories.length + ' are shown: ' + res.fingerprints.join(', ') })
        : null
      out.replaceChildren(...(stories.length ? stories : [el('p', { class: 'empty', text: 'no alert matches' })]), ...(more ? [more] : []))
      announce(stories.length + ' alert stories shown')
      showError('')
    } catch (err) {
      out.replaceChildren(el('p', { class: 'error', text: err.message }))
    }
  }

  // ------------------------------------------------------------ SLOs
  async function loadSlos() {
    const panel = $('panel-slos')
    try {
      const res = await api('slos')
      panel.replaceChildren(el('p', { text: 'as of ' + res.generatedAt }), el('div', { id: 'slos' }))
      NightshiftSlo.renderAll($('slos'), res.slos)
      panel.dataset.ready = 'true'
    } catch (err) {
      panel.replaceChildren(el('p', { class: 'error', text: 'Could not load the SLOs: ' + err.message }))
      panel.dataset.ready = 'error'
    }
  }

  const LOADERS = { now: loadNow, actions: () => loadActions(), alert: loadAlert, slos: loadSlos }

  // ------------------------------------------------------------ live
  const timers = {}
  const soon = (name, fn) => { clearTimeout(timers[name]); timers[name] = setTimeout(fn, 250) }
  function live() {
    const events = new EventSource('/api/console/events')
    const refreshNow = () => { if (loaded.now) soon('now', loadNow) }
    events.addEventListener('outcome', (e) => {
      const row = JSON.parse(e.data).row
      refreshNow()
      // The newest page follows the news; an older page stays as it is until asked.
      const list = $('actions-list')
      if (loaded.actions && list && !list.dataset.cursor) soon('actions', () => loadActions())
      announce('new outcome: ' + row.outcome.action + ' ' + row.outcome.status)
    })
    for (const kind of ['approval', 'pause', 'lift', 'budget']) events.addEventListener(kind, refreshNow)
    events.onerror = () => { document.body.dataset.live = 'reconnecting' }
    events.onopen = () => { document.body.dataset.live = 'open' }
  }

  // ------------------------------------------------------------ start
  ;(async () => {
    try {
      const who = await api('whoami')
      me = who.user
    } catch (err) {
      showError('Could not tell who you are: ' + err.message)
      document.body.dataset.ready = 'error'
      return
    }
    $('who').textContent = me.name + ' (' + me.role + ')'
    document.body.dataset.role = me.role
    if (me.open) {
      const banner = $('banner')
      banner.textContent = document.body.dataset.openBanner
      banner.hidden = false
    }
    select((location.hash || '#now').slice(1))
    live()
    document.body.dataset.ready = 'true'
  })()
})()
`
