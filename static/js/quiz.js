// Quiz mode for tutorials ("Challenge Mode"): while replaying, before a
// message's layers are revealed, ask which class an option gets in one of
// its layers (E or U), or which step of the incoming-request processing the
// receiving node takes next. The answer comes from the trace itself (the
// layer report's option classes and step paths, the nodes' decision
// events); the reveal gives the draft's reasoning step by step.
import { store } from './store.js';
import { registerTool } from './registry.js';
import { el, replaceIfChanged, sectionLink } from './util.js';
import { replay } from './replay.js';
import { presenter } from './presenter.js';
import { classText, stepsText } from './inspector.js';

// What each step of the option-protection rule asks, and what each answer
// (the step it leads to) means (draft 2.2, Steps 1-9).
const quizOptionSteps = {
  1: { 2: 'the sender added OPT itself', 4: 'the sender did not add OPT itself' },
  2: { 3: 'X (the other end of this layer) consumes OPT', 4: 'X (the other end of this layer) does not consume OPT' },
  3: { 5: 'X is the immediately next consumer of OPT', 9: 'X is not the immediately next consumer of OPT' },
  4: { 6: 'X is the sender\'s next hop, or the next hop is not the immediately next consumer of OPT', 9: 'the next hop is not X and is the immediately next consumer of OPT' },
  5: { 6: 'X needs OPT neither before removing this layer nor to remove it', 9: 'X needs OPT before removing this layer or to remove it' },
  6: { 7: 'OPT is one of Uri-Host and Uri-Port', 8: 'OPT is neither Uri-Host nor Uri-Port' },
  7: { 8: 'the message carries Proxy-Scheme(-Number)', 9: 'the message carries no Proxy-Scheme(-Number)' },
  8: { end: 'encrypted inside this layer' },
  9: { end: 'OPT keeps its original class, outside this layer' },
};

/** quizStepWords turns a step path ([1,2,3,5,6,7,8]) into the draft's reasoning in words. */
export function quizStepWords(steps, opt, cls, x = 'X') {
  const path = (Array.isArray(steps) ? steps : String(steps ?? '').split(/->|→|,/)).map((s) => Number(String(s).trim())).filter((n) => n > 0);
  const words = path.map((s, i) => {
    const next = path[i + 1] ?? 'end';
    let w = quizOptionSteps[s]?.[next] || (next === 'end' ? '' : `go to Step ${next}`);
    w = w.replace(/OPT/g, opt).replace(/X \(the other end of this layer\)/g, x === 'X' ? 'X (the other end of this layer)' : x).replace(/\bX\b/g, x);
    if (next === 'end') return `Step ${s}: Class ${cls}${w ? ` — ${w}` : ''}`;
    return `Step ${s}: ${w}`;
  });
  return words.join(' → ');
}

// The incoming-request steps a node may take (draft 2.4, Steps 1-6).
const quizIncomingChoices = [
  ['6', 'Step 6: decrypt one OSCORE layer'],
  ['2->4', 'Step 2→4: forward-proxy — check it may forward, then forward'],
  ['3->4', 'Step 3→4: reverse-proxy — check it may forward, then forward'],
  ['5', 'Step 5: deliver to the application (no OSCORE option left)'],
  ['4', 'Step 4: refuse to forward (4.01 Unauthorized)'],
  ['2', 'Step 2: not a forward-proxy (5.05 Proxying Not Supported)'],
];

// quizDecisive maps an incoming-request decision's step to the choice it
// settles, or '' for a step that only leads on to the next (1→2, 1→5, 2→3,
// 3→5, 4→1): Step 5→6 and Step 6 are decrypting, 2→4 and 3→4 forwarding,
// 5 delivering, 4 refusing to forward, 2 refusing to proxy (draft 2.4).
function quizDecisive(step) {
  switch (step) {
    case '5->6': case '6->1': case '6': return '6';
    case '2->4': case '3->4': case '5': case '4': case '2': return step;
    default: return '';
  }
}

// quizOtherEnd names X, the endpoint the layer's sender shares the context with.
function quizOtherEnd(ctx, sender) {
  const c = (store.contexts || []).find((k) => k.name === ctx);
  const nodes = (c?.endpoints || [c?.a, c?.b].filter(Boolean)).map((e) => e.node).filter((n) => n && n !== sender);
  return nodes[0] || 'X';
}

export const quiz = {
  on: false,
  answered: new Map(), // question id -> the answer given
  score: { right: 0, asked: 0 },
  question: null,      // the question on screen

  enable(on = true) {
    quiz.on = !!on;
    if (quiz.on && !replay.active) replay.start(0);
    quizRefresh();
    presenter.broadcast();
  },

  /** questionFor builds the question for a datagram row, or null. */
  questionFor(r) {
    if (!r || r.kind !== 'datagram') return null;
    const classQs = [];
    for (const e of r.layers.slice().reverse()) {
      const rep = (e.applied || e.removed)?.layer_event?.report;
      for (const o of rep?.options || []) {
        const steps = Array.isArray(o.steps) ? o.steps : [];
        const cls = classText(o.class);
        if (!steps.length || !/^[EU]$/.test(cls)) continue;
        classQs.push({ id: `${r.seq}:${e.ctx}:${o.name}`, type: 'class', seq: r.seq, ctx: e.ctx, opt: o.name,
          by: e.applied?.node || '?', x: quizOtherEnd(e.ctx, e.applied?.node), answer: cls, steps, choices: [['E', 'Class E (inside the layer)'], ['U', 'Class U (outside the layer)']] });
      }
    }
    // Prefer the option that changed class: that is the lesson of 2.2.
    classQs.sort((a, b) => (b.answer === 'E') - (a.answer === 'E'));
    // The decision question: the receiving node's steps on this request up
    // to the first that settles what it does (decrypt, forward, deliver or
    // refuse); the steps that only lead on are part of the reveal.
    let decisionQ = null;
    if (r.dir === 'request') {
      const i = replay.all.findIndex((ev) => ev.seq === r.seq);
      const path = [];
      for (let k = i + 1; i >= 0 && k < replay.all.length; k++) {
        const ev = replay.all[k];
        if (ev.type === 'datagram' && ev.exchange === r.exchange) break;
        const d = ev.decision;
        if (ev.type !== 'decision' || ev.node !== r.to || d?.rule !== 'incoming-request' || !d.step) continue;
        const step = String(d.step).replace(/→/g, '->');
        path.push({ step, outcome: d.outcome || '' });
        const settled = quizDecisive(step);
        if (settled) {
          decisionQ = { id: `${r.seq}:decision:${ev.seq}`, type: 'decision', seq: r.seq, node: r.to, answer: settled, path,
            section: d.section || '2.4', choices: quizIncomingChoices };
          break;
        }
      }
      if (!decisionQ && path.length) { // processing stopped on a step no choice names
        const last = path[path.length - 1].step;
        decisionQ = { id: `${r.seq}:decision:${last}`, type: 'decision', seq: r.seq, node: r.to, answer: last, path,
          section: '2.4', choices: [...quizIncomingChoices, [last, `Step ${stepsText(last)}`]] };
      }
    }
    const rowNo = store.rows.filter((x) => x.kind === 'datagram').indexOf(r);
    if (classQs.length && (rowNo % 2 === 0 || !decisionQ)) return classQs[0];
    return decisionQ || classQs[0] || null;
  },

  /** answer records a choice for the question on screen and reveals. */
  answer(choice) {
    const q = quiz.question;
    if (!q || quiz.answered.has(q.id)) return;
    quiz.answered.set(q.id, choice);
    quiz.score.asked++;
    if (choice === q.answer) quiz.score.right++;
    quizRefresh();
    presenter.broadcast();
  },
  reveal() { quiz.answer(''); },
};

function quizCard(q) {
  const given = quiz.answered.get(q.id);
  const done = given !== undefined;
  const ask = q.type === 'class'
    ? `${q.by} applies ${q.ctx}. Which class does ${q.opt} get in this layer?`
    : `${q.node} has received this request. Which step does it take next?`;
  const card = el('div', { class: `quiz-card${done ? ' done' : ''}`, 'data-testid': 'quiz-card', 'data-question': q.type, 'data-answer': done ? q.answer : '' },
    el('div', { class: 'quiz-q', 'data-testid': 'quiz-question' }, `Quiz: ${ask}`),
    el('div', { class: 'quiz-choices' }, ...q.choices.map(([v, label]) => el('button', {
      type: 'button', 'data-testid': 'quiz-choice', 'data-value': v, disabled: done,
      class: done ? (v === q.answer ? 'right' : v === given ? 'wrong' : '') : '',
      onclick: () => quiz.answer(v) }, label)),
    !done ? el('button', { type: 'button', class: 'quiz-reveal', 'data-testid': 'quiz-reveal', onclick: () => quiz.reveal() }, 'Reveal') : ''));
  if (done) {
    const verdict = given === '' ? 'Revealed.' : given === q.answer ? 'Right!' : 'Not quite.';
    const why = q.type === 'class'
      ? el('div', { 'data-testid': 'quiz-why' }, `${verdict} ${quizStepWords(q.steps, q.opt, q.answer, q.x)} `, sectionLink('2.2', '(draft §2.2, Protection of CoAP Options)'))
      : el('div', { 'data-testid': 'quiz-why' }, `${verdict} ${q.node}: ${q.path.map((p) => `Step ${stepsText(p.step)} — ${p.outcome}`).join('; ')} `, sectionLink(q.section, `(draft §${q.section}, Processing of an Incoming Request)`));
    card.append(why, el('div', { class: 'quiz-score', 'data-testid': 'quiz-score' }, `score ${quiz.score.right}/${quiz.score.asked}`));
  }
  return card;
}

const quizHost = el('div', { class: 'quiz-host', 'data-testid': 'quiz-host', hidden: true });

function quizRefresh() {
  const r = quiz.on && replay.active ? store.bySeq.get(store.selected) : null;
  const q = r && replay.current()?.seq !== undefined ? quiz.questionFor(r) : null;
  quiz.question = q;
  const pending = !!q && !quiz.answered.has(q.id);
  document.body.classList.toggle('quiz-pending', pending);
  quizHost.hidden = !q;
  // An unchanged card stays: rebuilding it between a choice's press and
  // release would lose the click, and live events refresh the quiz.
  const card = q ? quizCard(q) : null;
  const shown = quizHost.firstElementChild;
  if (!card) quizHost.replaceChildren();
  else if (!shown || quizHost.childNodes.length !== 1) quizHost.replaceChildren(card);
  else replaceIfChanged(shown, card);
  // Put the card where people look: on the presenter's stage, or above the inspector.
  const home = presenter.on ? presenter.slot : document.querySelector('[data-view="inspector"]');
  if (home && quizHost.parentNode !== home) home.prepend(quizHost);
  presenter.extra = { ...presenter.extra, quiz: q ? { id: q.id, given: quiz.answered.get(q.id) ?? null } : null };
}

// The audience window shows the presenter's question and, once answered there, the reveal.
function quizFollow() {
  if (!presenter.audience) return;
  const want = presenter.extra?.quiz;
  if (!want) { if (quiz.on) { quiz.on = false; quizRefresh(); } return; }
  quiz.on = true;
  if (want.given !== null && !quiz.answered.has(want.id)) quiz.answered.set(want.id, want.given);
  quizRefresh();
}

function quizTool() {
  const b = el('button', { type: 'button', 'data-testid': 'quiz-toggle', title: 'ask before revealing each message\'s layers', onclick: () => {
    quiz.enable(!quiz.on);
    b.classList.toggle('on', quiz.on);
    b.textContent = quiz.on ? 'Quiz off' : 'Quiz';
  } }, 'Quiz');
  return el('span', { class: 'tool quiz-tool' }, b);
}

// The clicker's "next" on a question not answered yet reveals it; the
// press after that steps on, so a talk needs one button.
replay.hold = () => {
  const q = quiz.on ? quiz.question : null;
  if (!q || quiz.answered.has(q.id)) return false;
  quiz.reveal();
  return true;
};

replay.subscribe(() => { if (quiz.on) quizRefresh(); presenter.broadcast(); });
store.subscribe('select', () => { if (presenter.audience) quizFollow(); else if (quiz.on) quizRefresh(); });
presenter.listeners.add(() => { if (presenter.audience) quizFollow(); else if (quiz.on) quizRefresh(); });

queueMicrotask(() => {
  registerTool({ id: 'quiz', offline: true, render: quizTool });
  if (window.oscoreLab) window.oscoreLab.quiz = quiz;
});
