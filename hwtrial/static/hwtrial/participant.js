/* Participant pages, progressive enhancement only: every page works without this script.
 *
 * 1. Engagement events are queued in localStorage and sent in batches to the events API;
 *    an event leaves the queue only when the server acknowledged its id, so events survive
 *    a reload, a closed tab or a lost connection (ids make resending harmless).
 * 2. On the task page, answers are autosaved to the server as a draft while typing.
 * 3. The browser's time zone goes with the consent form and into a cookie (times are then
 *    shown with their zone when the participant's differs), and 0-10 / 0-100 ratings become
 *    range sliders showing their number (without this script they are number boxes).
 */
(function () {
  "use strict";
  var KEY = "hwtrial.events.v1";
  var MAX_BATCH = 500;

  function browserTimeZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }
  var zone = browserTimeZone();
  if (zone && /^[A-Za-z0-9_\/+\-]{1,64}$/.test(zone)) {  // IANA names are cookie-safe as they are
    document.cookie = "hwtrial_browser_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    Array.prototype.forEach.call(document.querySelectorAll("input[data-browser-timezone]"), function (input) {
      input.value = zone;
    });
  }

  // Ratings: a slider starts "not chosen yet" (a slider always has a value, so an untouched
  // one would silently answer its midpoint); it is not sent until the participant moves it.
  function enhanceRating(input) {
    var output = document.createElement("output");
    output.setAttribute("for", input.id);
    output.id = input.id + "-value";
    output.className = "rating-value";
    output.setAttribute("aria-hidden", "true");
    var unsetText = input.getAttribute("data-unset-text") || "-";
    var unset = input.value === "";
    input.type = "range";
    if (unset) {
      input.value = String(Math.round((Number(input.min) + Number(input.max)) / 2));
      input.setAttribute("data-unset", "1");
    }
    function show() {
      var isUnset = input.hasAttribute("data-unset");
      output.textContent = isUnset ? unsetText : input.value;
      input.setAttribute("aria-valuetext", isUnset ? unsetText : input.value);
    }
    input.addEventListener("input", function () { input.removeAttribute("data-unset"); show(); });
    input.addEventListener("change", function () { input.removeAttribute("data-unset"); show(); });
    input.parentNode.insertBefore(output, input.nextSibling);
    show();
  }
  Array.prototype.forEach.call(document.querySelectorAll("input[data-rating]"), enhanceRating);
  function dropUnset(data) {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-unset]"), function (input) {
      data.delete(input.name);
    });
    return data;
  }
  Array.prototype.forEach.call(document.querySelectorAll("form"), function (f) {
    f.addEventListener("submit", function () {
      Array.prototype.forEach.call(f.querySelectorAll("input[data-unset]"), function (input) {
        input.disabled = true;  // an untouched slider is not an answer
      });
    });
  });
  window.addEventListener("pageshow", function () {  // back button: the form is usable again
    Array.prototype.forEach.call(document.querySelectorAll("input[data-unset]"), function (input) {
      input.disabled = false;
    });
  });

  var configEl = document.getElementById("hwtrial-config");
  if (!configEl) { return; }
  var config = JSON.parse(configEl.textContent);
  var sending = false;

  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  }
  function store(queue) {
    try { localStorage.setItem(KEY, JSON.stringify(queue)); } catch (e) { /* private mode: best effort */ }
  }
  function record(type, payload) {
    if (!config.eventsUrl) { return; }
    var event = { id: newId(), type: type, client_time: new Date().toISOString() };
    if (config.instance) { event.instance = config.instance; }
    if (payload) { event.payload = payload; }
    var queue = load();
    queue.push({ url: config.eventsUrl, event: event });
    store(queue);
  }
  function flush() {
    if (sending) { return; }
    var queue = load();
    if (!queue.length) { return; }
    var url = queue[0].url;
    if (!url) { store(queue.slice(1)); return; }
    var batch = queue.filter(function (q) { return q.url === url; }).slice(0, MAX_BATCH);
    sending = true;
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": config.csrf || "" },
      body: JSON.stringify({ events: batch.map(function (q) { return q.event; }) })
    }).then(function (response) {
      if (response.ok) { return response.json(); }
      if (response.status === 422 || response.status === 404 || response.status === 403 || response.status === 409) {
        return { ids: batch.map(function (q) { return q.event.id; }), dropped: true };  // never accepted: do not retry forever
      }
      throw new Error("status " + response.status);
    }).then(function (answer) {
      var done = {};
      (answer.ids || []).forEach(function (id) { done[id] = true; });
      store(load().filter(function (q) { return !done[q.event.id]; }));
      sending = false;
      if (load().length && !answer.dropped) { flush(); }
    }).catch(function () { sending = false; });
  }

  var form = document.getElementById("task-form") || document.getElementById("review-form");
  if (config.page === "task") {
    record("opened");
    window.addEventListener("focus", function () { record("focus"); });
    window.addEventListener("blur", function () { record("blur"); flush(); });
  }
  if (form) {
    var lastField = {};
    form.addEventListener("input", function (e) {
      var name = e.target && e.target.name;
      if (!name || name === "csrf_token") { return; }
      var now = Date.now();
      // One field_changed per field per 2 s of typing: edits, not keystrokes.
      if (!lastField[name] || now - lastField[name] > 2000) {
        record(config.page === "review" ? "self_review_answered" : "field_changed", { field: name });
        lastField[name] = now;
      }
      scheduleDraft();
    });
    form.addEventListener("submit", function (e) {
      var action = e.submitter && e.submitter.value;
      if (config.page === "task" && action === "submit") { record("submitted"); }
      if (config.page === "review") { record("self_review_answered", { final: true }); }
    });
  }

  var timer = null;
  var status = document.getElementById("autosave-status");
  function scheduleDraft() {
    if (!config.draftUrl) { return; }
    clearTimeout(timer);
    timer = setTimeout(saveDraft, 1000);
  }
  function saveDraft() {
    timer = null;
    var data = dropUnset(new FormData(form));
    data.delete("action");
    return fetch(config.draftUrl, { method: "POST", body: data, credentials: "same-origin",
                                    headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        record("draft_saved");
        if (status) { status.textContent = status.getAttribute("data-saved") || "\u2713"; }
      })
      .catch(function () { /* the Save draft button still works */ });
  }
  if (config.draftUrl) {
    // Leaving mid-typing: send the last keystrokes with the page (sendBeacon survives unload).
    window.addEventListener("pagehide", function () {
      if (timer && navigator.sendBeacon) {
        clearTimeout(timer);
        var data = dropUnset(new FormData(form));
        data.delete("action");
        navigator.sendBeacon(config.draftUrl, data);
      }
      flush();
    });
  }
  window.hwtrialSaveDraft = saveDraft;  // used by tests and the browser test
  flush();
  setInterval(flush, 5000);
})();
