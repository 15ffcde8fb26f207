/* r1lab math: LaTeX inside plain text drawn as MathML by the vendored KaTeX, lazily.
 *
 * R1Math.fill(node, text, mark) replaces node's children with the text split into text nodes and
 * formula spans: $...$, $$...$$, \(...\), \[...\], \begin{env}...\end{env} and a bare \boxed{...}.
 * Each formula span first holds its source as text; it is drawn (KaTeX, output "mathml": no fonts,
 * Chromium draws MathML natively) when it comes within a screen of the viewport, so a 20k-character
 * trace costs only the formulas someone looks at. A formula KaTeX cannot parse keeps its source
 * text (class "bad", the error in its title): never an error box. mark = [start, end) character
 * offsets of text to wrap in <mark class="answer">; a formula the range touches is marked whole.
 * The body class "tex-source" shows every formula's source instead (R1Math.toggle).
 * Currency is not math: a "$" opens a formula only when a non-space follows it, and closes one
 * only after a non-space and not before a digit ("$5 and $10", "$20-$5=$15" stay text). */
(() => {
  'use strict';
  const MAX_INLINE = 1000; // a "$" pair further apart than this is not one formula
  const MAX_DISPLAY = 8000;
  const ENVS = new Set(['align', 'align*', 'aligned', 'equation', 'equation*', 'gather', 'gather*',
    'cases', 'matrix', 'pmatrix', 'bmatrix', 'vmatrix', 'array', 'eqnarray', 'eqnarray*', 'split']);
  const cache = new Map();
  let observer = null;

  const isSpace = c => c === undefined || c === ' ' || c === '\n' || c === '\t' || c === '\r';
  const isDigit = c => c >= '0' && c <= '9';

  /* Where a brace group opening at text[open] closes (index after '}'), or -1. */
  function closeBrace(text, open, limit) {
    let depth = 0;
    const end = Math.min(text.length, open + limit);
    for (let k = open; k < end; k++) {
      const c = text[k];
      if (c === '\\') { k++; continue; }
      if (c === '{') depth++;
      else if (c === '}' && --depth === 0) return k + 1;
    }
    return -1;
  }
  function findClose(text, from, token, limit) {
    const at = text.indexOf(token, from);
    return at >= 0 && at - from <= limit ? at : -1;
  }
  /* The closing "$" of an inline formula whose content starts at i, or -1. */
  function closeDollar(text, i) {
    const end = Math.min(text.length, i + MAX_INLINE);
    for (let k = i; k < end; k++) {
      const c = text[k];
      if (c === '\\') { k++; continue; }
      if (c === '\n' && text[k + 1] === '\n') return -1; // a blank line ends any formula
      if (c !== '$') continue;
      if (!isSpace(text[k - 1]) && !isDigit(text[k + 1]) && k > i) return k;
      return -1; // "$5 and $10": the next "$" is not a closer, so the first was no opener
    }
    return -1;
  }
  const CURRENCY = /^\d[\d,.]*\s+[a-z]{2,}/i;

  /* Formulas of text as {start, end, tex, display}, in order, non-overlapping; linear time. */
  function formulas(text) {
    const out = [];
    let i = 0;
    const n = text.length;
    while (i < n) {
      const dollar = text.indexOf('$', i);
      const slash = text.indexOf('\\', i);
      const at = dollar < 0 ? slash : slash < 0 ? dollar : Math.min(dollar, slash);
      if (at < 0) break;
      const c = text[at];
      let found = null;
      if (c === '\\') {
        const next = text[at + 1];
        if (next === '$' || next === '\\') { i = at + 2; continue; }
        if (next === '[' || next === '(') {
          const close = findClose(text, at + 2, next === '[' ? '\\]' : '\\)', next === '[' ? MAX_DISPLAY : MAX_INLINE);
          if (close >= 0) found = {start: at, end: close + 2, tex: text.slice(at + 2, close), display: next === '['};
        } else if (text.startsWith('\\begin{', at)) {
          const nameEnd = text.indexOf('}', at + 7);
          const name = nameEnd > 0 ? text.slice(at + 7, nameEnd) : '';
          if (ENVS.has(name)) {
            const close = findClose(text, nameEnd, `\\end{${name}}`, MAX_DISPLAY);
            if (close >= 0) {
              const end = close + name.length + 6;
              found = {start: at, end, tex: text.slice(at, end), display: true};
            }
          }
        } else if (text.startsWith('\\boxed', at) || text.startsWith('\\fbox', at)) {
          let open = at + (text[at + 1] === 'b' ? 6 : 5);
          while (text[open] === ' ') open++;
          const close = text[open] === '{' ? closeBrace(text, open, MAX_INLINE) : -1;
          if (close >= 0) found = {start: at, end: close, tex: '\\boxed' + text.slice(open, close), display: false};
        }
      } else if (text[at + 1] === '$') {
        const close = findClose(text, at + 2, '$$', MAX_DISPLAY);
        if (close > at + 2) found = {start: at, end: close + 2, tex: text.slice(at + 2, close), display: true};
        else { i = at + 2; continue; }
      } else if (!isSpace(text[at + 1])) {
        const close = closeDollar(text, at + 1);
        const tex = close >= 0 ? text.slice(at + 1, close) : '';
        if (close >= 0 && !(CURRENCY.test(tex) && !tex.includes('\\'))) {
          found = {start: at, end: close + 1, tex, display: false};
        }
      }
      if (found && found.tex.trim()) {
        out.push(found);
        i = found.end;
      } else {
        i = at + 1;
      }
    }
    return out;
  }

  /* KaTeX's MathML for one formula, or null when it is not valid LaTeX (the error message kept). */
  function draw(tex, display) {
    const key = (display ? 'D' : 'I') + tex;
    if (cache.has(key)) return cache.get(key);
    let result;
    try {
      result = {html: window.katex.renderToString(tex, {displayMode: display, output: 'mathml',
        throwOnError: true, strict: 'ignore', trust: false, maxExpand: 500, maxSize: 20})};
    } catch (err) {
      result = {error: String(err && err.message ? err.message : err)};
    }
    if (cache.size > 20000) cache.clear();
    cache.set(key, result);
    return result;
  }
  function render(span) {
    if (span.classList.contains('done') || span.classList.contains('bad')) return;
    const tex = span.dataset.tex;
    const result = window.katex ? draw(tex, span.classList.contains('display')) : {error: 'no renderer'};
    if (result.error) {
      span.classList.add('bad');
      span.title = 'not rendered (' + result.error + ')';
      return;
    }
    const out = document.createElement('span');
    out.className = 'tex-out';
    out.innerHTML = result.html;
    span.append(out);
    span.classList.add('done');
  }
  function watch(span) {
    if (!('IntersectionObserver' in window)) { render(span); return; }
    if (!observer) {
      observer = new IntersectionObserver(entries => {
        for (const entry of entries) {
          if (entry.isIntersecting) { observer.unobserve(entry.target); render(entry.target); }
        }
      }, {rootMargin: '600px 0px'});
    }
    observer.observe(span);
  }

  function formulaSpan(text, f) {
    const span = document.createElement('span');
    span.className = 'tex' + (f.display ? ' display' : '');
    span.dataset.tex = f.tex;
    const src = document.createElement('span');
    src.className = 'tex-src';
    src.textContent = text.slice(f.start, f.end);
    span.append(src);
    return span;
  }

  /* Replace node's children by text with its formulas; mark: [start, end) to highlight, or null. */
  function fill(node, text, mark) {
    const pieces = []; // [node, marked]
    const [ms, me] = mark && mark[1] > mark[0] ? mark : [-1, -1];
    const hit = (a, b) => ms >= 0 && a < me && b > ms;
    const addText = (a, b) => {
      if (b <= a) return;
      if (!hit(a, b)) { pieces.push([document.createTextNode(text.slice(a, b)), false]); return; }
      const cuts = [a, Math.max(a, ms), Math.min(b, me), b];
      for (let k = 0; k < 3; k++) {
        if (cuts[k + 1] > cuts[k]) pieces.push([document.createTextNode(text.slice(cuts[k], cuts[k + 1])), k === 1]);
      }
    };
    const spans = [];
    let at = 0;
    for (const f of formulas(text)) {
      addText(at, f.start);
      const span = formulaSpan(text, f);
      spans.push(span);
      pieces.push([span, hit(f.start, f.end)]);
      at = f.end;
    }
    addText(at, text.length);
    const kids = [];
    let open = null;
    for (const [piece, marked] of pieces) {
      if (!marked) { open = null; kids.push(piece); continue; }
      if (!open) {
        open = document.createElement('mark');
        open.className = 'answer';
        open.title = 'what the grader read as the answer';
        kids.push(open);
      }
      open.append(piece);
    }
    node.replaceChildren(...kids);
    for (const span of spans) watch(span);
    return node;
  }

  /* One formula given as bare LaTeX (a gold or extracted answer): a span drawn when seen. */
  function one(tex) {
    const span = formulaSpan(tex, {start: 0, end: tex.length, tex, display: false});
    watch(span);
    return span;
  }

  /* Fill every element matching selector under root from its own text (data-mark="start,end"). */
  function typeset(root, selector) {
    for (const node of root.querySelectorAll(selector)) {
      if (node.dataset.typeset) continue;
      node.dataset.typeset = '1';
      const mark = node.dataset.mark ? node.dataset.mark.split(',').map(Number) : null;
      fill(node, node.textContent, mark);
    }
  }
  function toggle(showSource) {
    document.body.classList.toggle('tex-source', !!showSource);
  }

  window.R1Math = {formulas, fill, one, typeset, toggle, render};
})();
