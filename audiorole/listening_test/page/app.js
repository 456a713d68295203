// Blind listening test: trials from trials.js, answers in localStorage, saved as a JSON file.
// Works from file:// (no fetch) and from any static server.
(function () {
  "use strict";
  const TEST = window.LISTENING_TEST;
  const STORE = "arp-listening-test:" + TEST.id;
  const byId = Object.fromEntries(TEST.trials.map((t) => [t.id, t]));
  const $ = (id) => document.getElementById(id);

  const SCALES = {
    naturalness: ["Bad", "Poor", "Fair", "Good", "Excellent"],
    character: ["Not at all", "Barely", "Somewhat", "Mostly", "Perfectly"],
  };
  const QUESTIONS = {
    voice: "Which reply sounds more like the speaker of the reference clip?",
    naturalness: "How natural does this speech sound?",
    character: "How well does this reply fit the character and the conversation?",
  };

  let state = load();
  let players = [];   // {audio, button} of the trial on screen
  let shownAt = 0;

  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORE) || "null");
      if (saved && saved.order && saved.order.length === TEST.trials.length) return saved;
    } catch (e) { /* a broken entry starts afresh */ }
    return null;
  }

  function save() {
    try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode: the file still works */ }
  }

  function shuffled(ids) {
    const a = ids.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }

  function answeredCount() { return Object.keys(state.answers).length; }

  // ---- screens ---------------------------------------------------------------
  function showStart() {
    $("title").textContent = TEST.title;
    document.title = TEST.title;
    if (state) {
      $("rater").value = state.rater;
      $("resume-note").textContent = `Welcome back: ${answeredCount()} of ${TEST.trials.length} answered. Start continues where you left off.`;
    }
    $("rater").focus();
  }

  function begin() {
    const rater = $("rater").value.trim();
    if (!rater) { $("rater").focus(); $("rater").placeholder = "please enter a name"; return; }
    if (!state || state.rater !== rater) {
      state = { test: TEST.id, rater, started: new Date().toISOString(), order: shuffled(TEST.trials.map((t) => t.id)),
                pos: 0, answers: {} };
    }
    save();
    $("start").hidden = true;
    $("progress").hidden = false;
    $("save").hidden = false;
    const firstOpen = state.order.findIndex((id) => !(id in state.answers));
    show(firstOpen < 0 ? state.order.length : firstOpen);
  }

  function stopAll() { players.forEach((p) => { p.audio.pause(); p.audio.currentTime = 0; }); }

  function show(pos) {
    stopAll();
    state.pos = Math.max(0, Math.min(pos, state.order.length));
    save();
    updateProgress();
    if (state.pos >= state.order.length) {
      $("trial").hidden = true;
      $("done").hidden = false;
      $("save-end").focus();
      return;
    }
    $("done").hidden = true;
    $("trial").hidden = false;
    renderTrial(byId[state.order[state.pos]]);
  }

  function updateProgress() {
    const n = TEST.trials.length;
    const at = Math.min(state.pos + 1, n);
    $("progress-text").textContent = `Trial ${at} of ${n} · ${answeredCount()} answered`;
    $("progress-fill").style.width = (100 * answeredCount() / n) + "%";
  }

  // ---- one trial ---------------------------------------------------------------
  function clipButton(label, key, src, extraClass) {
    const button = document.createElement("button");
    button.className = "clip" + (extraClass ? " " + extraClass : "");
    button.type = "button";
    button.innerHTML = `▶ ${label}<span class="key">key ${key.toUpperCase()}</span><span class="seen">✓ played</span>`;
    const audio = new Audio(src);
    audio.preload = "auto";
    const player = { audio, button, key, label, played: false };
    audio.addEventListener("play", () => { player.played = true; button.classList.add("played", "playing"); gate(); });
    audio.addEventListener("pause", () => button.classList.remove("playing"));
    audio.addEventListener("ended", () => button.classList.remove("playing"));
    button.addEventListener("click", () => play(player));
    $("clips").appendChild(button);
    players.push(player);
    return player;
  }

  function play(player) {
    players.forEach((p) => { if (p !== player) { p.audio.pause(); p.audio.currentTime = 0; } });
    player.audio.currentTime = 0;
    const started = player.audio.play();
    if (started && started.catch) started.catch(() => { /* no audio device: the play event still marks it */ });
  }

  function answerButton(value, label, key) {
    const button = document.createElement("button");
    button.className = "answer";
    button.type = "button";
    button.dataset.value = String(value);
    button.innerHTML = `${label}<span class="key">key ${key}</span>`;
    button.addEventListener("click", () => choose(value));
    $("answers").appendChild(button);
  }

  function card(id, html) { $(id).innerHTML = html; $(id).hidden = !html; }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function renderTrial(trial) {
    players = [];
    $("clips").innerHTML = "";
    $("answers").innerHTML = "";
    $("question").textContent = QUESTIONS[trial.kind];
    $("body").classList.toggle("two", trial.kind === "character");  // read on the left, listen on the right
    const name = escapeHtml(trial.character);
    if (trial.kind === "voice") {
      $("who").innerHTML = `The reference clip is <b>${name}</b> speaking. Only the voice matters, not the words.`;
      card("persona", ""); card("context", ""); card("reply-text", "");
      clipButton(`Reference: ${name}`, "r", trial.reference, "reference");
      clipButton("Reply A", "a", trial.a);
      clipButton("Reply B", "b", trial.b);
      answerButton("A", "A is closer", "1");
      answerButton("B", "B is closer", "2");
      $("keys").innerHTML = "<kbd>R</kbd> <kbd>A</kbd> <kbd>B</kbd> play · <kbd>1</kbd> <kbd>2</kbd> answer · " +
        "<kbd>Enter</kbd> next · <kbd>←</kbd> back";
    } else {
      const scale = SCALES[trial.kind];
      if (trial.kind === "character") {
        $("who").innerHTML = `Spoken as <b>${name}</b>: judge what is said and how, ` +
          ((trial.context || []).length ? "at this point of the conversation." : "as the scene's first line.");
        card("persona", trial.persona ? `<div class="label">Who ${name} is</div>${escapeHtml(trial.persona)}` : "");
        const turns = (trial.context || []).map((t) => `<div class="turn"><b>${escapeHtml(t.speaker)}:</b> ${escapeHtml(t.text)}</div>`);
        card("context", turns.length ? `<div class="label">The conversation so far</div>${turns.join("")}` : "");
        card("reply-text", trial.text ? `<div class="label">The reply's words</div>${escapeHtml(trial.text)}` : "");
      } else {
        $("who").textContent = "Judge the sound of the speech, not what is said.";
        card("persona", ""); card("context", ""); card("reply-text", "");
      }
      clipButton(trial.kind === "character" ? `${trial.character}'s reply` : "Reply", "p", trial.clip);
      scale.forEach((label, i) => answerButton(i + 1, `${i + 1} · ${label}`, String(i + 1)));
      $("keys").innerHTML = "<kbd>P</kbd> or <kbd>Space</kbd> play · <kbd>1</kbd>–<kbd>5</kbd> answer · " +
        "<kbd>Enter</kbd> next · <kbd>←</kbd> back";
    }
    shownAt = performance.now();
    const previous = state.answers[trial.id];
    if (previous) players.forEach((p) => { p.played = true; p.button.classList.add("played"); });
    gate();
    mark(previous ? previous.value : null);
  }

  function gate() {
    const waiting = players.filter((p) => !p.played).map((p) => p.label);
    document.querySelectorAll(".answer").forEach((b) => { b.disabled = waiting.length > 0; });
    $("gate").textContent = waiting.length ? `Play every clip to answer (not played yet: ${waiting.join(", ")}).` : "";
    $("next").disabled = !(state.order[state.pos] in state.answers);
    $("back").disabled = state.pos === 0;
  }

  function mark(value) {
    document.querySelectorAll(".answer").forEach((b) => b.classList.toggle("chosen", value !== null && b.dataset.value === String(value)));
  }

  function choose(value) {
    if (!players.every((p) => p.played)) return;
    const id = state.order[state.pos];
    const before = state.answers[id];
    state.answers[id] = { value, ms: Math.round(performance.now() - shownAt) + (before ? before.ms : 0),
                          at: new Date().toISOString() };
    save();
    mark(value);
    gate();
    updateProgress();
  }

  // ---- the file ----------------------------------------------------------------
  function download() {
    const data = { test: TEST.id, title: TEST.title, rater: state.rater, started: state.started,
                   saved: new Date().toISOString(), complete: answeredCount() === TEST.trials.length,
                   order: state.order, answers: state.answers, user_agent: navigator.userAgent };
    const blob = new Blob([JSON.stringify(data, null, 1)], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `listening-${TEST.id}-${state.rater.replace(/[^A-Za-z0-9_-]+/g, "_")}.json`;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // ---- keys --------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT") { if (e.key === "Enter") begin(); return; }
    if ($("trial").hidden || e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key.toLowerCase();
    const trial = byId[state.order[state.pos]];
    const player = players.find((p) => p.key === key || (key === " " && p.key === "p"));
    if (player) { e.preventDefault(); play(player); return; }
    if (trial.kind === "voice" && (key === "1" || key === "2")) { choose(key === "1" ? "A" : "B"); return; }
    if (trial.kind !== "voice" && /^[1-5]$/.test(key)) { choose(Number(key)); return; }
    if ((key === "enter" || key === "arrowright") && !$("next").disabled) { e.preventDefault(); show(state.pos + 1); return; }
    if (key === "arrowleft" || key === "backspace") { e.preventDefault(); show(state.pos - 1); }
  });

  $("begin").addEventListener("click", begin);
  $("next").addEventListener("click", () => show(state.pos + 1));
  $("back").addEventListener("click", () => show(state.pos - 1));
  $("review").addEventListener("click", () => show(state.order.length - 1));
  $("save").addEventListener("click", download);
  $("save-end").addEventListener("click", download);
  showStart();
})();
