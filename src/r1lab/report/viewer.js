/* r1lab trace viewer: a paginated, filterable list of problems; sample texts inflate on demand.
 * State lives in the URL hash (show, subject, level, q, deep, sort, page, problem, sample, tex), so
 * links like viewer.html#problem=ID&sample=1 open a problem. Text is always inserted as text
 * nodes, never as HTML; formulas are drawn by R1Math (math.js, vendored KaTeX) as they come on
 * screen, and tex=src shows their source instead. Each sample's answer span (s.h, offsets into
 * its text) is marked where the grader read it, with the extraction tier (s.t).
 * window.R1 exposes the state for tests. */
(() => {
  'use strict';
  const META = JSON.parse(document.getElementById('r1-meta').textContent);
  const P = META.problems;
  const PAGE = META.page_size || 25;
  const LABEL = {correct: 'correct', wrong: 'wrong', no_answer: 'no answer', truncated: 'truncated',
    timeout: 'timeout', unparseable_gold: 'unparseable gold', error: 'grader error', ungraded: 'ungraded'};
  const noAnswer = s => s.o === 'no_answer' || (s.x == null && s.o !== 'ungraded' && s.o !== 'correct');
  const FILTERS = {
    all: ['all problems', () => true],
    incorrect: ['a sample not correct', p => p.s.some(s => s.o !== 'correct' && s.o !== 'unparseable_gold')],
    wrong: ['a wrong answer', p => p.s.some(s => s.o === 'wrong')],
    truncated: ['a truncated sample', p => p.s.some(s => s.o === 'truncated' || s.f === 'length')],
    no_answer: ['a sample with no answer', p => p.s.some(noAnswer)],
    disagree: ['disagreeing samples', p => p.dis],
    timeout: ['a grading timeout', p => p.s.some(s => s.o === 'timeout')],
    unparseable_gold: ['an unparseable gold', p => p.s.some(s => s.o === 'unparseable_gold')],
    unsolved: ['no correct sample', p => p.rate === 0],
    solved: ['every sample correct', p => p.rate === 1],
  };
  const DEFAULTS = {show: 'all', subject: '', level: '', q: '', deep: '', sort: 'id', page: '1',
    problem: '', sample: '', tex: ''};
  const M = window.R1Math;
  /* Text with its formulas drawn; a bare answer (no delimiters) as one formula when it looks like LaTeX. */
  const texText = (tag, attrs, text, mark) => M.fill(el(tag, attrs), text == null ? '' : String(text), mark);
  const answer = (x, cls) => (x == null ? el('code', {class: cls}, '(none)')
    : /[\\^_{}]/.test(x) ? el('span', {class: cls}, M.one(String(x))) : el('code', {class: cls}, String(x)));
  let state = {...DEFAULTS};
  let scrolledTo = '';
  const texts = new Map();
  const byId = new Map(P.map(p => [String(p.id), p]));
  for (const p of P) {
    p.hay = [p.id, p.p, p.g, ...p.s.map(s => s.x)].filter(v => v != null).join('\n').toLowerCase();
  }

  const el = (tag, attrs = {}, ...kids) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (v != null) node.setAttribute(k, v);
    }
    for (const kid of kids) if (kid != null) node.append(kid);
    return node;
  };
  const fmt = n => (n == null ? '-' : Number(n).toLocaleString('en-US'));
  const pct = v => (v == null ? '-' : (100 * v).toFixed(0) + '%');
  const length = s => (s.n != null ? fmt(s.n) + ' tok' : fmt(s.c) + ' chars');

  // ------------------------------------------------------------------ state <-> URL hash
  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const next = {...DEFAULTS};
    for (const key of Object.keys(DEFAULTS)) if (params.has(key)) next[key] = params.get(key);
    return next;
  }
  function writeHash() {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(state)) if (v !== '' && v !== DEFAULTS[k]) params.set(k, v);
    history.replaceState(null, '', '#' + params.toString());
  }
  function go(change) {
    state = {...state, ...change};
    writeHash();
    render();
  }

  // ------------------------------------------------------------------ sample texts, lazily
  async function loadTexts(i) {
    if (texts.has(i)) return texts.get(i);
    const b64 = document.getElementById('t-' + i).textContent.trim();
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    const data = JSON.parse(await new Response(stream).text());
    texts.set(i, data);
    return data;
  }
  let deepDone = false;
  async function deepIndex(status) {
    if (deepDone) return;
    for (let i = 0; i < P.length; i++) {
      const data = await loadTexts(P[i].i);
      P[i].deep = (data.t.join('\n') + '\n' + data.r.join('\n')).toLowerCase();
      texts.delete(P[i].i); // keep only the index: the texts are re-inflated when opened
      if (i % 25 === 0) status.textContent = `indexing responses ${i}/${P.length}...`;
    }
    deepDone = true;
  }

  // ------------------------------------------------------------------ filtering
  function matches(p) {
    if (!FILTERS[state.show][1](p)) return false;
    if (state.subject && String(p.sub) !== state.subject) return false;
    if (state.level && String(p.lvl) !== state.level) return false;
    if (state.q) {
      const q = state.q.toLowerCase();
      if (!p.hay.includes(q) && !(state.deep && p.deep && p.deep.includes(q))) return false;
    }
    return true;
  }
  function visible() {
    const list = P.filter(matches);
    if (state.sort === 'rate') list.sort((a, b) => (a.rate ?? 2) - (b.rate ?? 2));
    if (state.sort === 'length') list.sort((a, b) => maxLen(b) - maxLen(a));
    return list;
  }
  const maxLen = p => Math.max(0, ...p.s.map(s => s.n ?? s.c ?? 0));

  // ------------------------------------------------------------------ header and controls
  function renderHeader() {
    const dl = document.getElementById('settings');
    for (const [k, v] of Object.entries(META.header)) dl.append(el('dt', {}, k), el('dd', {}, v));
    const counts = {};
    let samples = 0;
    for (const p of P) for (const s of p.s) { counts[s.o] = (counts[s.o] || 0) + 1; samples++; }
    const summary = document.getElementById('summary');
    summary.append(el('span', {}, `${fmt(P.length)} problems, ${fmt(samples)} samples: `));
    const order = Object.keys(LABEL);
    const sorted = Object.entries(counts).sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
    for (const [o, n] of sorted) {
      summary.append(el('span', {class: 'badge o-' + o, title: 'samples'}, `${LABEL[o] || o} ${fmt(n)}`), ' ');
    }
  }
  function options(values, current, all) {
    return [el('option', {value: ''}, all), ...values.map(v => {
      const o = el('option', {value: v}, v);
      if (v === current) o.selected = true;
      return o;
    })];
  }
  function renderControls() {
    const nav = document.getElementById('controls');
    nav.replaceChildren();
    const show = el('select', {id: 'f-show', onchange: e => go({show: e.target.value, page: '1'})},
      ...Object.entries(FILTERS).map(([k, [label]]) => {
        const o = el('option', {value: k}, label);
        if (k === state.show) o.selected = true;
        return o;
      }));
    const uniq = key => [...new Set(P.map(p => p[key]).filter(v => v != null).map(String))]
      .sort((a, b) => a.localeCompare(b, 'en', {numeric: true}));
    const subjects = uniq('sub');
    const levels = uniq('lvl');
    const q = el('input', {id: 'f-q', type: 'search', placeholder: 'search problems, answers, ids',
      value: state.q});
    q.addEventListener('change', () => go({q: q.value, page: '1'}));
    q.addEventListener('keydown', e => { if (e.key === 'Enter') go({q: q.value, page: '1'}); });
    const deep = el('input', {id: 'f-deep', type: 'checkbox'});
    deep.checked = !!state.deep;
    const status = el('span', {id: 'status', class: 'note'});
    deep.addEventListener('change', async () => {
      if (deep.checked) await deepIndex(status);
      go({deep: deep.checked ? '1' : ''});
    });
    const sort = el('select', {id: 'f-sort', onchange: e => go({sort: e.target.value})},
      ...[['id', 'file order'], ['rate', 'pass rate, lowest first'], ['length', 'longest sample first']]
        .map(([v, label]) => { const o = el('option', {value: v}, label); if (v === state.sort) o.selected = true; return o; }));
    nav.append(el('label', {}, 'show problems with ', show));
    if (subjects.length) nav.append(el('label', {}, 'subject ', el('select', {id: 'f-subject',
      onchange: e => go({subject: e.target.value, page: '1'})}, ...options(subjects, state.subject, 'all'))));
    if (levels.length) nav.append(el('label', {}, 'level ', el('select', {id: 'f-level',
      onchange: e => go({level: e.target.value, page: '1'})}, ...options(levels, state.level, 'all'))));
    const tex = el('input', {id: 'f-tex', type: 'checkbox'});
    tex.checked = state.tex === 'src';
    tex.addEventListener('change', () => { // a class on <body>: no re-render, open samples stay open
      state = {...state, tex: tex.checked ? 'src' : ''};
      writeHash();
      M.toggle(tex.checked);
    });
    nav.append(el('label', {}, q), el('label', {class: 'note'}, deep, ' also search response texts'),
      el('label', {}, 'sort ', sort), el('label', {class: 'note'}, tex, ' show LaTeX source'), status);
  }

  // ------------------------------------------------------------------ the list
  function chip(s, j) {
    return el('span', {class: 'chip o-' + s.o, title: `sample ${j}: ${LABEL[s.o] || s.o}`});
  }
  function rateBar(rate) {
    const bar = el('span', {class: 'rate', title: 'pass rate'}, el('span', {class: 'fill'}), el('b', {}, pct(rate)));
    bar.firstChild.style.width = rate == null ? '0' : (100 * rate).toFixed(0) + '%';
    return bar;
  }
  function render() {
    M.toggle(state.tex === 'src');
    renderControls();
    const list = visible();
    const pages = Math.max(1, Math.ceil(list.length / PAGE));
    let page = Math.min(Math.max(1, parseInt(state.page, 10) || 1), pages);
    if (state.problem) {
      const at = list.findIndex(p => String(p.id) === state.problem);
      if (at >= 0) page = Math.floor(at / PAGE) + 1;
    }
    const main = document.getElementById('list');
    main.replaceChildren();
    main.append(el('p', {id: 'count', class: 'note'},
      `${fmt(list.length)} of ${fmt(P.length)} problems` + (pages > 1 ? `, page ${page} of ${pages}` : '')));
    for (const p of list.slice((page - 1) * PAGE, page * PAGE)) main.append(problemRow(p));
    const pager = document.getElementById('pager');
    pager.replaceChildren();
    if (pages > 1) {
      pager.append(el('button', {id: 'prev', onclick: () => go({page: String(page - 1), problem: ''})}, '< previous'),
        el('span', {}, ` ${page} / ${pages} `),
        el('button', {id: 'next', onclick: () => go({page: String(page + 1), problem: ''})}, 'next >'));
      pager.querySelector('#prev').disabled = page <= 1;
      pager.querySelector('#next').disabled = page >= pages;
    }
    const open = state.problem && main.querySelector(`[data-id="${CSS.escape(state.problem)}"]`);
    if (open && scrolledTo !== state.problem) open.scrollIntoView({block: 'start'});
    scrolledTo = state.problem;
    document.body.dataset.ready = '1';
  }
  function problemRow(p) {
    const isOpen = String(p.id) === state.problem;
    const head = el('div', {class: 'head', onclick: () => go({problem: isOpen ? '' : String(p.id), sample: ''})},
      el('span', {class: 'pid'}, String(p.id)), rateBar(p.rate),
      el('span', {class: 'chips'}, ...p.s.map(chip)),
      p.g == null ? el('span', {class: 'gold'}) : answer(p.g, 'gold'),
      el('span', {class: 'tags'}, [p.sub, p.lvl != null ? 'level ' + p.lvl : null].filter(Boolean).join(' · ')),
      p.dis ? el('span', {class: 'tag-dis', title: 'the samples gave different answers'}, 'disagree') : null,
      texText('span', {class: 'preview'}, p.p.slice(0, 160)));
    const row = el('section', {class: 'problem' + (isOpen ? ' open' : ''), 'data-id': String(p.id)}, head);
    if (isOpen) row.append(problemBody(p));
    return row;
  }
  function problemBody(p) {
    const table = el('table', {class: 'samples'}, el('tr', {}, ...['#', 'outcome', 'extracted answer',
      'read by', 'finish', 'length', ''].map(h => el('th', {}, h))));
    const body = el('div', {class: 'body'}, texText('div', {class: 'ptext'}, p.p),
      el('p', {}, el('b', {}, 'gold: '), answer(p.g, 'gold')), table);
    p.s.forEach((s, j) => {
      const isOpen = state.sample === String(j);
      const tr = el('tr', {class: 'sample' + (isOpen ? ' open' : ''), 'data-sample': String(j),
        onclick: () => go({sample: isOpen ? '' : String(j)})},
      el('td', {}, String(j)), el('td', {}, el('span', {class: 'badge o-' + s.o}, LABEL[s.o] || s.o)),
      el('td', {}, answer(s.x, 'x')), el('td', {class: 'tier'}, tierLabel(s)), el('td', {}, s.f || '-'),
      el('td', {class: 'num'}, length(s)), el('td', {class: 'note'}, isOpen ? 'close' : 'open'));
      table.append(tr);
      if (isOpen) {
        const cell = el('td', {colspan: '7'}, el('p', {class: 'note'}, 'inflating...'));
        table.append(el('tr', {class: 'trace'}, cell));
        loadTexts(p.i).then(data => cell.replaceChildren(trace(data.t[j] || '', data.r[j] || '', s)),
          err => cell.replaceChildren(el('p', {class: 'note'}, 'could not read this sample: ' + err)));
      }
    });
    return body;
  }

  // ------------------------------------------------------------------ one trace
  function lastBoxed(text) {
    const start = text.lastIndexOf('\\boxed');
    if (start < 0) return null;
    const open = text.indexOf('{', start);
    if (open < 0) return null;
    let depth = 0;
    for (let k = open; k < text.length; k++) {
      if (text[k] === '{') depth++;
      else if (text[k] === '}' && --depth === 0) return [start, k + 1];
    }
    return [start, text.length];
  }
  const TIER = {boxed: '\\boxed{}', gsm8k: '#### N', final_answer: '"final answer" label',
    answer_is: '"the answer is"', latex: 'last formula', sentence: 'final sentence', number: 'last number'};
  function tierLabel(s) {
    if (s.t) return el('span', {title: 'extraction tier: ' + s.t}, TIER[s.t] || s.t);
    return s.x == null ? '-' : el('span', {class: 'note', title: 'the grader recorded no span for this answer'}, '?');
  }
  /* [reasoning text, where the answer part starts in text]: the server's reasoning field, else up
   * to </think>, else (long text) the paragraph before the answer span or the last \boxed{}. */
  function split(text, reasoning, span) {
    if (reasoning) return [reasoning, 0];
    const think = text.lastIndexOf('</think>');
    if (think >= 0) return [text.slice(0, think + 8), think + 8];
    if (text.length < 1500) return ['', 0];
    const box = lastBoxed(text);
    const anchor = span ? span[0] : box ? box[0] : text.length - 1;
    let cut = text.lastIndexOf('\n\n', anchor);
    if (cut < 0 || text.length - cut > 4000) cut = Math.max(0, anchor - 600);
    return [text.slice(0, cut), cut];
  }
  function trace(text, reasoning, s) {
    const span = Array.isArray(s.h) ? s.h : null;
    const [thought, cut] = split(text, reasoning, span);
    const rest = text.slice(cut);
    const at = cut + rest.length - rest.trimStart().length;
    const answerText = rest.trim();
    let mark = span ? [span[0] - at, span[1] - at] : null;
    if (!span && s.o === 'ungraded') mark = lastBoxed(answerText); // no grader: the last box, as a guide
    const out = el('div', {class: 'trace-body'});
    if (thought) {
      const thoughtMark = span && !reasoning && span[0] < cut ? span : null;
      out.append(el('details', {class: 'reasoning'},
        el('summary', {}, `reasoning (${fmt(thought.length)} characters; click to expand)`),
        texText('pre', {class: 'tx'}, thought, thoughtMark)));
    }
    const pre = texText('pre', {class: 'final tx'}, answerText || '(empty response)', answerText ? mark : null);
    const read = s.x == null ? null : el('span', {class: 'note'}, ' read as ', answer(s.x, 'x'),
      s.t ? ` (${TIER[s.t] || s.t})` : ' (where: not recorded)');
    out.append(el('div', {class: 'answer'}, el('div', {class: 'label'}, 'final answer ',
      el('span', {class: 'badge o-' + s.o}, LABEL[s.o] || s.o), read,
      s.f === 'length' ? el('span', {class: 'note'}, ' cut off at the token limit') : null), pre));
    return out;
  }

  // ------------------------------------------------------------------ start
  window.R1 = {get state() { return {...state}; }, go, visible: () => visible().map(p => String(p.id)), loadTexts};
  renderHeader();
  state = readHash();
  if (state.problem && !byId.has(state.problem)) state.problem = '';
  window.addEventListener('hashchange', () => { state = readHash(); render(); });
  const start = async () => { if (state.deep) await deepIndex(document.createElement('span')); render(); };
  start();
})();
