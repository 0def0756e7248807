/*! moodring tracker: detects behaviour in the page and sends it to moodring. No dependencies.
 *  <script src="https://moodring.example/v1/tracker.js" data-key="pk_..." async></script>
 *  Never sends typed values, element text or query strings. Thresholds: README, "Add it to a web page". */
(function () {
  "use strict";
  var w = window, d = document, nav = navigator;
  if (w.moodring && w.moodring.version) return;

  var defaults = {
    endpoint: "", key: "", token: "", sessionId: "", tokenUrl: "",
    flushMs: 2500, maxBatch: 50,
    rageClicks: 3, rageMs: 1000, ragePx: 30,
    scrollMs: 250, backtrackPx: 200,
    inputPauseMs: 2000, idleMs: 30000, hoverMs: 1500,
    keepQuery: false
  };
  var HOVERABLE = "a,button,input,select,textarea,label,summary,[role=button],[role=link],[role=tab],[role=menuitem]";
  var FIELD = "input,select,textarea,[contenteditable]";

  var cfg = {}, queue = [], sending = false, timer = 0, retries = 0, started = false;
  var session = null; // {session_id, token, expires_at}
  var listeners = { mood: [] }, lastLabel = null, lastHeard = null, renewTimer = 0;
  var storeKey = "moodring:";

  function now() { return Date.now(); }
  function hex(n) {
    var a = new Uint8Array(n), s = "";
    (w.crypto || w.msCrypto).getRandomValues(a);
    for (var i = 0; i < n; i++) s += (a[i] < 16 ? "0" : "") + a[i].toString(16);
    return s;
  }
  function optedOut() { try { return w.localStorage.getItem(storeKey + "optout") === "1"; } catch (e) { return false; } }
  function pageUrl() {
    var l = w.location;
    return cfg.keepQuery ? l.href.split("#")[0] : l.origin + l.pathname;
  }

  // ---- the queue and its delivery ----
  function emit(type, fields) {
    if (!started || refused || optedOut()) return;
    var e = { type: type, ts: now() / 1000, event_id: hex(12) };
    for (var k in fields) if (fields[k] !== undefined && fields[k] !== null) e[k] = fields[k];
    queue.push(e);
    if (queue.length >= cfg.maxBatch) flush(); else if (!timer) timer = setTimeout(flush, cfg.flushMs);
  }

  function api(path, init) {
    init.headers = init.headers || {};
    if (session) init.headers.Authorization = "Bearer " + session.token;
    return fetch(cfg.endpoint + path, init);
  }

  function flush(closing) {
    clearTimeout(timer); timer = 0;
    if (!session) return connect();
    // A page going away sends what is left at once, beside a request in flight if need be.
    if ((sending && !closing) || !queue.length) return;
    var batch = queue.splice(0, closing ? queue.length : cfg.maxBatch), body = JSON.stringify({ events: batch });
    sending = true;
    api("/v1/sessions/" + encodeURIComponent(session.session_id) + "/events", {
      method: "POST", body: body, keepalive: !!closing && body.length < 60000,
      headers: { "Content-Type": "application/json" }
    }).then(function (r) {
      sending = false;
      if (r.ok) {
        retries = 0;
        r.json().then(function (out) { moodMaybeChanged(out.current_mood); }, function () {});
      } else if (r.status === 401) {
        queue = batch.concat(queue); // the token expired or was refused: a new one, then again
        forget();
        return connect();
      } else if (r.status === 429 || r.status >= 500) {
        queue = batch.concat(queue);
        return backoff();
      } // any other 4xx: the batch is dropped, never retried
      if (queue.length) timer = setTimeout(flush, 0);
    }, function () {
      sending = false; // offline, or the connection failed: kept, tried again later
      queue = batch.concat(queue);
      backoff();
    });
  }

  function backoff() {
    retries = Math.min(retries + 1, 8);
    var delay = Math.min(30000, 1000 * Math.pow(2, retries - 1)) * (0.5 + Math.random());
    clearTimeout(timer);
    timer = setTimeout(flush, delay);
  }

  function moodMaybeChanged(label) {
    if (!session || !label || label === lastLabel || !listeners.mood.length) { lastLabel = label || lastLabel; return; }
    lastLabel = label;
    api("/v1/sessions/" + encodeURIComponent(session.session_id) + "/mood", { method: "GET" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (m) {
        // Two changes close together each fetch the mood, and both may answer the later one:
        // the page hears each label once.
        if (!m || m.mood === lastHeard) return;
        lastHeard = m.mood;
        var mood = { label: m.mood, confidence: m.confidence, suggested_action: m.suggested_action, signals: m.signals, session_id: m.session_id };
        listeners.mood.forEach(function (cb) { try { cb(mood); } catch (e) { /* the page's own error */ } });
      }, function () {});
  }

  // ---- credentials: a browser session from a publishable key, a token, or the page's server ----
  function remember(s) {
    session = s;
    try { w.sessionStorage.setItem(storeKey + (cfg.key || cfg.tokenUrl), JSON.stringify(s)); } catch (e) { /* private mode */ }
    clearTimeout(renewTimer);
    var left = Date.parse(s.expires_at) - now();
    renewTimer = setTimeout(renew, Math.max(5000, left - 60000));
    return s;
  }

  function json(r) { if (!r.ok) throw r; return r.json(); }

  // A session to send with: kept from earlier in the tab, or a new one. A refusal (4xx other
  // than 429: a revoked key, another origin) stops the tracker; anything else is tried again.
  var connecting = null, refused = false;
  function connect() {
    if (connecting || refused) return;
    connecting = Promise.resolve().then(restore).then(function () { connecting = null; retries = 0; flush(); }, function (e) {
      connecting = null;
      if (e && e.status >= 400 && e.status < 500 && e.status !== 429) { refused = true; queue = []; return; }
      backoff();
    });
  }

  function start() {
    if (cfg.token) {
      var claims;
      try { claims = JSON.parse(atob(cfg.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch (e) {
        refused = true; // not a token: nothing will make it one
        return Promise.reject(e);
      }
      return Promise.resolve(remember({ session_id: cfg.sessionId || claims.sub, token: cfg.token, expires_at: new Date(claims.exp * 1000).toISOString() }));
    }
    if (cfg.tokenUrl) return fetch(cfg.tokenUrl, { credentials: "include" }).then(json).then(remember);
    return fetch(cfg.endpoint + "/v1/browser/sessions", { method: "POST", headers: { "X-Publishable-Key": cfg.key } })
      .then(json).then(remember);
  }

  // A new token for the session before this one expires; offline, again in 30 s.
  function renew() {
    api("/v1/tokens/renew", { method: "POST" }).then(function (r) {
      if (r.ok) return r.json().then(remember);
      if (r.status === 401) forget(); // expired meanwhile: the next flush starts again
      else renewTimer = setTimeout(renew, 30000);
    }, function () { renewTimer = setTimeout(renew, 30000); });
  }

  // A token that no longer works: the page's server or the publishable key gives a new one.
  function forget() {
    session = null;
    try { w.sessionStorage.removeItem(storeKey + (cfg.key || cfg.tokenUrl)); } catch (e) { /* private mode */ }
  }

  function restore() {
    try {
      var s = JSON.parse(w.sessionStorage.getItem(storeKey + (cfg.key || cfg.tokenUrl)) || "null");
      if (s && Date.parse(s.expires_at) - now() > 30000) return Promise.resolve(remember(s));
    } catch (e) { /* nothing kept */ }
    return start();
  }

  // ---- detection ----
  var clicks = [], lastY = w.scrollY || 0, lastScrollAt = 0, scrollTimer = 0, downRun = 0, lastDir = null;
  var lastActivity = now(), typing = null, hovering = null;

  function activity() {
    var t = now(), gap = t - lastActivity;
    if (gap >= cfg.idleMs) emit("idle", { duration_ms: gap });
    lastActivity = t;
  }

  function onClick(e) {
    activity();
    var t = now(), x = Math.round(e.clientX), y = Math.round(e.clientY);
    emit("click", { x: x, y: y });
    if (hovering) hovering.clicked = true;
    clicks = clicks.filter(function (c) { return t - c.t <= cfg.rageMs && Math.abs(c.x - x) <= cfg.ragePx && Math.abs(c.y - y) <= cfg.ragePx; });
    clicks.push({ t: t, x: x, y: y });
    // A triple-click that selects text is reading, not rage.
    var selecting = e.detail >= 3 && String(w.getSelection ? w.getSelection() : "").length > 0;
    if (clicks.length >= cfg.rageClicks && !selecting) {
      emit("rage_click", { x: x, y: y });
      clicks = [];
    }
  }

  function onScroll() {
    var t = now();
    if (t - lastScrollAt < cfg.scrollMs) {
      // Throttled; the position it ends at is still read, once the interval is over.
      if (!scrollTimer) scrollTimer = setTimeout(function () { scrollTimer = 0; onScroll(); }, cfg.scrollMs - (t - lastScrollAt));
      return;
    }
    activity();
    var y = w.scrollY || d.documentElement.scrollTop || 0, dy = y - lastY;
    if (!dy) return;
    var dir = dy > 0 ? "down" : "up", dt = lastScrollAt ? t - lastScrollAt : cfg.scrollMs;
    emit("scroll", { speed: Math.round(Math.abs(dy) * 1000 / Math.max(dt, 1)), direction: dir });
    if (dir === "down") downRun = lastDir === "down" ? downRun + dy : dy;
    else if (lastDir === "down" && downRun >= cfg.backtrackPx) { emit("backtrack", {}); downRun = 0; }
    lastDir = dir; lastY = y; lastScrollAt = t;
  }

  function isField(el) { return el && el.closest && el.closest(FIELD); }

  function onInput(e) {
    activity();
    var field = isField(e.target), t = now();
    if (!field) return;
    if (typing && typing.el === field && t - typing.at >= cfg.inputPauseMs) emit("input_pause", { duration_ms: t - typing.at });
    typing = { el: field, at: t };
  }

  function onFocus(e) { if (isField(e.target)) { activity(); emit("focus", {}); } }
  function onBlur(e) { if (isField(e.target)) { emit("blur", {}); typing = null; } }

  function onOver(e) {
    if (e.pointerType === "touch") return;
    var el = e.target && e.target.closest && e.target.closest(HOVERABLE);
    if (!el || (hovering && hovering.el === el)) return;
    endHover();
    hovering = { el: el, at: now(), clicked: false };
  }
  function onOut(e) {
    if (hovering && !(e.relatedTarget && hovering.el.contains(e.relatedTarget))) endHover();
  }
  function endHover() {
    if (!hovering) return;
    var held = now() - hovering.at;
    if (held >= cfg.hoverMs && !hovering.clicked) emit("hover", { duration_ms: held });
    hovering = null;
  }

  function onError(e) {
    emit("error", { message: String(e.message || "Script error").slice(0, 512) });
  }
  function onRejection(e) {
    var r = e.reason;
    emit("error", { message: String((r && r.message) || r || "Unhandled rejection").slice(0, 512) });
  }

  var lastUrl = "";
  function pageView() {
    var url = pageUrl();
    if (url === lastUrl) return;
    lastUrl = url;
    emit("page_view", { url: url.slice(0, 2048) });
  }
  function wrapHistory(name) {
    var original = w.history[name];
    w.history[name] = function () {
      var out = original.apply(this, arguments);
      setTimeout(pageView, 0);
      return out;
    };
  }

  function onHide() {
    if (d.visibilityState === "hidden" || this === w) {
      endHover();
      var gap = now() - lastActivity;
      if (gap >= cfg.idleMs) { emit("idle", { duration_ms: gap }); lastActivity = now(); }
      flush(true);
    }
  }

  function listen() {
    var opts = { capture: true, passive: true };
    d.addEventListener("click", onClick, opts);
    w.addEventListener("scroll", onScroll, opts);
    d.addEventListener("input", onInput, opts);
    d.addEventListener("focusin", onFocus, opts);
    d.addEventListener("focusout", onBlur, opts);
    d.addEventListener("pointerover", onOver, opts);
    d.addEventListener("pointerout", onOut, opts);
    ["mousemove", "keydown", "pointerdown", "touchstart"].forEach(function (t) { d.addEventListener(t, activity, opts); });
    w.addEventListener("error", onError);
    w.addEventListener("unhandledrejection", onRejection);
    w.addEventListener("popstate", function () { emit("back_nav", {}); pageView(); });
    w.addEventListener("pageshow", function (e) { if (e.persisted) { emit("back_nav", {}); flush(); } });
    d.addEventListener("visibilitychange", onHide);
    w.addEventListener("pagehide", onHide);
    w.addEventListener("online", function () { retries = 0; flush(); });
    wrapHistory("pushState");
    wrapHistory("replaceState");
  }

  // ---- the page's interface ----
  var tracker = {
    version: "1",
    init: function (options) {
      if (started) return tracker;
      for (var k in defaults) cfg[k] = options && options[k] !== undefined ? options[k] : defaults[k];
      cfg.endpoint = String(cfg.endpoint || scriptOrigin).replace(/\/+$/, "");
      if (!cfg.key && !cfg.token && !cfg.tokenUrl) throw new Error("moodring: init needs key, token or tokenUrl");
      started = true;
      var entry = w.performance && performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
      if (entry && entry.type === "back_forward") emit("back_nav", {});
      pageView();
      listen();
      connect();
      return tracker;
    },
    /** `mood`: called with {label, confidence, suggested_action, signals} when the mood changes. */
    on: function (name, cb) { (listeners[name] = listeners[name] || []).push(cb); return tracker; },
    off: function (name, cb) { listeners[name] = (listeners[name] || []).filter(function (f) { return f !== cb; }); return tracker; },
    optOut: function () { try { w.localStorage.setItem(storeKey + "optout", "1"); } catch (e) { /* private mode */ } queue = []; return tracker; },
    optIn: function () { try { w.localStorage.removeItem(storeKey + "optout"); } catch (e) { /* private mode */ } return tracker; },
    flush: function () { flush(); return tracker; },
    session: function () { return session ? session.session_id : null; }
  };
  w.moodring = tracker;

  var script = d.currentScript, scriptOrigin = "";
  if (script && script.src) scriptOrigin = new URL(script.src, w.location.href).origin;
  var key = script && script.getAttribute("data-key");
  var tokenUrl = script && script.getAttribute("data-token-url");
  if (key || tokenUrl) tracker.init({ key: key || "", tokenUrl: tokenUrl || "", endpoint: script.getAttribute("data-endpoint") || "" });
})();
