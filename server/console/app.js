/*
 * Artemis web console: one page, hash routing, plain DOM. ES2015 with fetch and Promises, no
 * modules, async/await or optional chaining, so 2020-era browsers run it. Every server string
 * goes into the page through textContent, never innerHTML. Data comes from the server's own
 * API (same origin, relative URLs so a context prefix works) and live changes from the
 * WebSocket push; nothing polls.
 */
(function () {
  "use strict";
  var T0 = performance.now(); /* script start: first paint is measured from here */
  var PAGE = 100;
  var main = document.getElementById("main");
  var live = document.getElementById("live");
  var footer = document.getElementById("footer-info");
  var view = { name: "", socket: null, timer: 0, closed: true, gen: 0 };
  var servicesCache = null;
  var firstPaintDone = false;

  /* ---- helpers ------------------------------------------------------------------------- */

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs)
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") e.textContent = String(v);
        else if (k === "class") e.className = v;
        else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? "" : String(v));
      });
    (kids || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function fmtTime(ms) {
    if (!ms) return "";
    var d = new Date(Number(ms));
    return isNaN(d.getTime()) ? String(ms) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  function check(resp) {
    if (!resp.ok) {
      return resp.text().then(function (t) {
        throw new Error("HTTP " + resp.status + ": " + t.slice(0, 200));
      });
    }
    return resp;
  }

  /* ---- access tokens: kept in sessionStorage only, sent as Authorization: Bearer ---------- */

  var TOKEN_KEY = "artemis.console.token";
  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }
  function setToken(t) {
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the token lives only until the next prompt */ }
    tok.forget.hidden = !getToken();
  }

  function serverMessage(text, status) {
    try {
      var rs = JSON.parse(text).responseStatus;
      if (rs && rs.message) return rs.message;
    } catch (e) { /* not JSON */ }
    return "HTTP " + status;
  }

  /* fetch with the token; a 401 (or a 403 without a token) asks for one and retries, a 403
     with a token is an error naming the missing scope (asking again would loop). */
  function request(path, opts) {
    var o = { method: opts.method || "GET", credentials: "same-origin", headers: {} };
    if (opts.body !== undefined) {
      o.headers["Content-Type"] = "application/json";
      o.body = opts.body;
    }
    var t = getToken();
    if (t) o.headers.Authorization = "Bearer " + t;
    return fetch("../" + path, o).then(function (resp) {
      if (resp.status !== 401 && resp.status !== 403) return check(resp);
      return resp.text().then(function (text) {
        var msg = serverMessage(text, resp.status);
        if (getToken() !== t) return request(path, opts); /* a new token came meanwhile */
        if (resp.status === 403 && t) {
          var m = /scope (\w+)/.exec(msg);
          var err = new Error(m ? "this token does not grant scope " + m[1] : msg);
          err.scope = m ? m[1] : "?";
          throw err;
        }
        return askToken(msg).then(function () { return request(path, opts); });
      });
    });
  }

  /* POST a management or status call; fails on a non-success responseStatus. */
  function post(path, body) {
    return request(path, { method: "POST", body: JSON.stringify(body || {}) }).then(function (r) { return r.json(); }).then(function (j) {
      var rs = j && j.responseStatus;
      if (rs && rs.status && rs.status !== "success" && rs.status !== "partial_success")
        throw new Error(path + ": " + (rs.errorCode || "fail") + " " + (rs.message || ""));
      return j;
    });
  }

  function getText(path) {
    return request(path, {}).then(function (r) { return r.text(); });
  }

  var tok = {
    backdrop: document.getElementById("token-backdrop"),
    form: document.getElementById("token-form"),
    input: document.getElementById("token-input"),
    error: document.getElementById("token-error"),
    submit: document.getElementById("token-submit"),
    cancel: document.getElementById("token-cancel"),
    forget: document.getElementById("token-forget"),
    wait: null,
    msg: "",
    opener: null
  };

  /* One prompt at a time: every call refused meanwhile waits for the same answer. */
  function askToken(msg) {
    tok.msg = msg;
    tok.error.textContent = (getToken() ? "Token refused. " : "") + "The server said: " + msg;
    if (tok.wait) return tok.wait.promise;
    var w = {};
    w.promise = new Promise(function (resolve, reject) { w.resolve = resolve; w.reject = reject; });
    tok.wait = w;
    tok.opener = document.activeElement;
    tok.input.value = "";
    tok.backdrop.hidden = false;
    tok.input.focus();
    return w.promise;
  }

  function closeToken(given) {
    var w = tok.wait;
    tok.wait = null;
    tok.backdrop.hidden = true;
    if (tok.opener && document.body.contains(tok.opener)) tok.opener.focus();
    tok.opener = null;
    if (w) {
      if (given) w.resolve();
      else w.reject(new Error("An access token is required (the server said: " + tok.msg + ")."));
    }
  }

  tok.form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var v = tok.input.value.trim();
    if (!v) {
      tok.error.textContent = "Enter a token.";
      tok.input.focus();
      return;
    }
    setToken(v);
    closeToken(true);
  });
  tok.cancel.addEventListener("click", function () { closeToken(false); });
  tok.forget.addEventListener("click", function () {
    setToken("");
    route();
  });
  document.addEventListener("keydown", function (ev) {
    if (tok.backdrop.hidden) return;
    if (ev.key === "Escape" || ev.key === "Esc") {
      ev.preventDefault();
      closeToken(false);
    } else if (ev.key === "Tab") {
      var f = [tok.input, tok.submit, tok.cancel];
      var i = f.indexOf(document.activeElement);
      if (ev.shiftKey && i <= 0) { ev.preventDefault(); f[f.length - 1].focus(); }
      else if (!ev.shiftKey && (i === f.length - 1 || i < 0)) { ev.preventDefault(); f[0].focus(); }
    }
  });

  function showError(container, err) {
    container.appendChild(el("p", { class: "alert", role: "alert", text: String(err && err.message || err) }));
  }

  function heading(text) {
    var h = el("h1", { tabindex: "-1", text: text });
    return h;
  }

  function statusCell(status) {
    var s = String(status || "").toLowerCase();
    return el("td", { class: s === "up" ? "up" : s === "down" ? "down" : "", text: s || "?" });
  }

  function pager(total, page, onPage, label) {
    var pages = Math.max(1, Math.ceil(total / PAGE));
    return el("div", { class: "pager", role: "navigation", "aria-label": label || "Pages" }, [
      el("button", { type: "button", id: "page-prev", disabled: page <= 0, onclick: function () { onPage(page - 1); } }, ["Previous"]),
      el("span", { id: "page-info", text: "Page " + (page + 1) + " of " + pages + " (" + total + ")" }),
      el("button", { type: "button", id: "page-next", disabled: page >= pages - 1, onclick: function () { onPage(page + 1); } }, ["Next"])
    ]);
  }

  function setLive(text) {
    live.textContent = text;
  }

  /* ---- routing ------------------------------------------------------------------------- */

  function parseHash() {
    var h = location.hash.replace(/^#\/?/, "");
    var q = "";
    var i = h.indexOf("?");
    if (i >= 0) {
      q = h.slice(i + 1);
      h = h.slice(0, i);
    }
    var params = {};
    q.split("&").forEach(function (kv) {
      if (!kv) return;
      var p = kv.split("=");
      params[decodeURIComponent(p[0])] = decodeURIComponent((p[1] || "").replace(/\+/g, " "));
    });
    var parts = h.split("/");
    return { page: parts[0] || "services", arg: parts.length > 1 ? decodeURIComponent(parts.slice(1).join("/")) : "", params: params };
  }

  function stopLive() {
    view.closed = true;
    if (view.timer) clearTimeout(view.timer);
    view.timer = 0;
    if (view.socket) {
      try { view.socket.close(); } catch (e) { /* already closed */ }
    }
    view.socket = null;
    setLive("");
  }

  function route() {
    stopLive();
    closeDialog();
    view.gen++;
    var r = parseHash();
    ["services", "log", "cluster"].forEach(function (n) {
      var a = document.getElementById("nav-" + n);
      if ((r.page === n) || (n === "services" && r.page === "service")) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    view.name = r.page;
    if (r.page === "service" && r.arg) return pageService(r.arg, view.gen);
    if (r.page === "log") return pageLog(r.params, view.gen);
    if (r.page === "cluster") return pageCluster(view.gen);
    return pageServices(r.params, view.gen);
  }

  function current(gen) {
    return gen === view.gen;
  }

  /* ---- services ------------------------------------------------------------------------ */

  /* The management view lists every lease with status up/down (api.md §7.5). */
  function loadServices() {
    return post("api/management/services.json", {}).catch(function (e) {
      if (!e.scope) throw e;
      /* A token without operate still discovers: the up instances only. */
      return post("api/discovery/services.json", {}).then(function (j) { j.scopeNote = e.message; return j; });
    }).then(function (j) {
      var list = (j.services || []).map(function (s) {
        var up = 0, down = 0;
        (s.instances || []).forEach(function (i) {
          if (String(i.status).toLowerCase() === "up") up++;
          else down++;
        });
        return { id: s.serviceId, key: String(s.serviceId || "").toLowerCase(), up: up, down: down };
      });
      list.sort(function (a, b) { return a.key < b.key ? -1 : a.key > b.key ? 1 : 0; });
      list.scopeNote = j.scopeNote;
      return list;
    });
  }

  function pageServices(params, gen) {
    var tFetch = performance.now();
    return loadServices().then(function (list) {
      if (!current(gen)) return;
      servicesCache = list;
      var tData = performance.now();
      var state = { q: params.q || "", page: Math.max(0, parseInt(params.p || "0", 10) || 0) };
      clear(main);
      var h = heading("Services");
      var search = el("input", { type: "search", id: "search", "aria-describedby": "search-help", value: state.q, placeholder: "service id contains…" });
      var summary = el("p", { id: "summary", class: "muted" });
      var body = el("div", { id: "services-body" });
      main.appendChild(h);
      main.appendChild(el("div", { class: "toolbar" }, [
        el("label", { for: "search", text: "Search" }), search,
        el("span", { id: "search-help", class: "muted", text: "filters as you type" })
      ]));
      if (list.scopeNote) main.appendChild(scopeNote(list.scopeNote, "only up instances are listed"));
      main.appendChild(summary);
      main.appendChild(body);
      var totalUp = 0, totalDown = 0;
      list.forEach(function (s) { totalUp += s.up; totalDown += s.down; });

      function draw() {
        var q = state.q.toLowerCase();
        var rows = q ? list.filter(function (s) { return s.key.indexOf(q) >= 0; }) : list;
        var pages = Math.max(1, Math.ceil(rows.length / PAGE));
        if (state.page >= pages) state.page = pages - 1;
        summary.textContent = list.length + " services, " + totalUp + " instances up, " + totalDown + " down" +
          (q ? " — " + rows.length + " match" : "");
        clear(body);
        var tb = el("tbody");
        var frag = document.createDocumentFragment();
        rows.slice(state.page * PAGE, state.page * PAGE + PAGE).forEach(function (s) {
          frag.appendChild(el("tr", { "data-service": s.id }, [
            el("td", null, [el("a", { href: "#/service/" + encodeURIComponent(s.id), class: "service-link", text: s.id })]),
            el("td", { class: "num up", text: String(s.up) }),
            el("td", { class: "num" + (s.down ? " down" : ""), text: String(s.down) })
          ]));
        });
        tb.appendChild(frag);
        body.appendChild(el("table", { id: "services" }, [
          el("thead", null, [el("tr", null, [el("th", { scope: "col", text: "Service" }),
            el("th", { scope: "col", class: "num", text: "Up" }), el("th", { scope: "col", class: "num", text: "Down" })])]),
          tb
        ]));
        if (!rows.length) body.appendChild(el("p", { class: "muted", text: "No service matches." }));
        body.appendChild(pager(rows.length, state.page, function (p) {
          state.page = p;
          remember();
          draw();
          var b = document.getElementById(p > 0 ? "page-next" : "page-prev");
          if (b && !b.disabled) b.focus();
        }));
      }
      /* Search and page live in the hash (so Back and reload keep them) without a refetch. */
      function remember() {
        var h2 = "#/services" + (state.q || state.page ? "?q=" + encodeURIComponent(state.q) + "&p=" + state.page : "");
        if (history.replaceState) history.replaceState(null, "", h2);
      }
      search.addEventListener("input", function () {
        state.q = search.value;
        state.page = 0;
        remember();
        draw();
      });
      draw();
      var tRender = performance.now();
      if (!firstPaintDone) {
        firstPaintDone = true;
        window.__firstRender = { fetchMs: tData - tFetch, renderMs: tRender - tData, services: list.length };
        /* The frame after the render is the paint. */
        requestAnimationFrame(function () {
          setTimeout(function () {
            var ms = performance.now() - T0;
            window.__firstPaintMs = ms;
            footer.textContent = "First paint: " + ms.toFixed(0) + " ms for " + list.length +
              " services (fetch " + window.__firstRender.fetchMs.toFixed(0) + " ms, render " +
              window.__firstRender.renderMs.toFixed(0) + " ms).";
          }, 0);
        });
      }
      h.focus();
    }).catch(function (e) {
      if (!current(gen)) return;
      clear(main);
      main.appendChild(heading("Services"));
      showError(main, e);
    });
  }

  /* ---- one service --------------------------------------------------------------------- */

  function reasonsFor(inst, ctx) {
    var why = [];
    var ik = inst.instanceId;
    (ctx.instOps[ik] || []).forEach(function (op) {
      var l = ctx.lastLog[ik];
      why.push("instance " + op + (l ? " by " + l.operatorId + (l.reason ? ": " + l.reason : "") + " at " + fmtTime(l.createTime) : ""));
    });
    (ctx.serverOps[inst.ip] || []).forEach(function (op) { why.push("server " + inst.ip + " " + op); });
    (ctx.zoneOps[inst.zoneId] || []).forEach(function (op) { why.push("zone " + inst.zoneId + " " + op); });
    ctx.groupOps.forEach(function (g) {
      var gk = inst.groupId ? String(inst.groupId) : "";
      if (!gk || gk === g.key || gk.indexOf(g.key + "/") === 0 || gk === g.name)
        if (gk) why.push("group " + g.name + " " + g.ops.join(", "));
    });
    if (!why.length && String(inst.status).toLowerCase() === "down") {
      why.push(ctx.groupOps.length ? "group operation on " + ctx.groupOps.map(function (g) { return g.name; }).join(", ")
        : "no operation found (the instance registered itself as down)");
    }
    return why;
  }

  function scopeNote(msg, what) {
    return el("p", { id: "scope-note", class: "alert", role: "status", text: msg + ": " + what + "." });
  }

  function loadService(id) {
    var svcP = post("api/management/service.json", { serviceId: id }).catch(function (e) {
      if (!e.scope) throw e;
      return post("api/discovery/services.json", {}).then(function (j) {
        var s = (j.services || []).filter(function (x) { return x.serviceId === id; })[0];
        return { service: s || { serviceId: id, instances: [] }, scopeNote: e.message };
      });
    });
    return svcP.then(function (sj) {
      var svc = sj.service || { instances: [] };
      var insts = svc.instances || [];
      var region = insts.length ? insts[0].regionId : "";
      var zones = {};
      insts.forEach(function (i) { zones[i.zoneId] = 1; });
      if (sj.scopeNote)
        return { svc: svc, scopeNote: sj.scopeNote, groupsView: [], instOps: {}, serverOps: {}, zoneOps: {}, groupOps: [], lastLog: {}, groups: [], byGroupId: {}, rules: [] };
      var calls = [
        post("api/management/all-instance-operations.json", region ? { regionId: region } : {}),
        post("api/management/all-server-operations.json", region ? { regionId: region } : {}),
        region ? post("api/management/zone/get-zone-operations-list.json", { regionId: region, serviceId: id }) : Promise.resolve({}),
        post("api/management/group/get-groups.json", { serviceId: id }),
        post("api/management/group/get-all-group-operations.json", {}),
        post("api/management/group/get-route-rules.json", { serviceId: id }),
        post("api/management/log/instance-operation-logs.json", { serviceId: id })
      ];
      return Promise.all(calls).then(function (r) {
        var ctx = { svc: svc, groupsView: sj.groups || [], instOps: {}, serverOps: {}, zoneOps: {}, groupOps: [], lastLog: {} };
        (r[0].allInstanceOperations || []).forEach(function (o) {
          if (o.instanceKey && o.instanceKey.serviceId === id) ctx.instOps[o.instanceKey.instanceId] = o.operations || [];
        });
        (r[1].allServerOperations || []).forEach(function (o) {
          if (o.serverKey) ctx.serverOps[o.serverKey.serverId] = o.operations || [];
        });
        (r[2].zoneOperationsList || []).forEach(function (o) {
          if (o.zoneKey) ctx.zoneOps[o.zoneKey.zoneId] = o.operations || [];
        });
        ctx.groups = r[3].groups || [];
        var byId = {};
        ctx.groups.forEach(function (g) { byId[g.groupId] = g; });
        (r[4].allGroupOperations || []).forEach(function (o) {
          var g = byId[o.groupId];
          if (g && o.operations && o.operations.length) ctx.groupOps.push({ name: g.name, key: g.groupKey, ops: o.operations });
        });
        ctx.byGroupId = byId;
        ctx.rules = r[5].routeRules || [];
        (r[6].logs || []).forEach(function (l) { /* newest first: keep the first per instance */
          if (!l.complete && !ctx.lastLog[l.instanceId]) ctx.lastLog[l.instanceId] = l;
        });
        return Promise.all(ctx.rules.map(function (rule) {
          return post("api/management/group/get-route-rule-groups.json", { routeRuleId: rule.routeRuleId })
            .then(function (g) { rule.groups = g.routeRuleGroups || []; });
        })).then(function () { return ctx; });
      });
    });
  }

  function pageService(id, gen) {
    var focusId = null;
    function render(ctx) {
      if (!current(gen)) return;
      var active = document.activeElement;
      if (active && active.id && main.contains(active)) focusId = active.id;
      clear(main);
      var h = heading("Service " + id);
      main.appendChild(el("p", null, [el("a", { href: "#/services", text: "← all services" })]));
      main.appendChild(h);
      if (ctx.scopeNote) main.appendChild(scopeNote(ctx.scopeNote, "operations, groups and route rules are not shown"));
      var insts = (ctx.svc.instances || []).slice().sort(function (a, b) { return a.instanceId < b.instanceId ? -1 : 1; });
      var up = insts.filter(function (i) { return String(i.status).toLowerCase() === "up"; }).length;
      main.appendChild(el("p", { id: "service-summary", class: "muted", text: insts.length + " instances: " + up + " up, " + (insts.length - up) + " down" }));
      main.appendChild(el("h2", { text: "Instances" }));
      var tb = el("tbody");
      insts.forEach(function (i) {
        var pulled = (ctx.instOps[i.instanceId] || []).indexOf("pullout") >= 0;
        var why = reasonsFor(i, ctx);
        var md = i.metadata || {};
        tb.appendChild(el("tr", { "data-instance": i.instanceId }, [
          el("td", { text: i.instanceId }),
          el("td", { text: (i.ip || "") + ":" + (i.port || "") }),
          el("td", { text: i.zoneId || "" }),
          statusCell(i.status),
          el("td", { class: "why", text: why.join("; ") }),
          el("td", { text: fmtTime(md.renewalTime) }),
          el("td", null, [pulled
            ? el("button", { type: "button", id: "pullin-" + i.instanceId, class: "pull-in", onclick: function () { openDialog(ctx, i, true); } }, ["Pull in"])
            : el("button", { type: "button", id: "pullout-" + i.instanceId, class: "pull-out danger", onclick: function () { openDialog(ctx, i, false); } }, ["Pull out"])])
        ]));
      });
      main.appendChild(el("table", { id: "instances" }, [
        el("thead", null, [el("tr", null, ["Instance", "Address", "Zone", "Status", "Why down", "Last heartbeat", "Action"].map(function (t) {
          return el("th", { scope: "col", text: t });
        }))]), tb]));
      if (!insts.length) main.appendChild(el("p", { class: "muted", text: "No instance registered." }));

      main.appendChild(el("h2", { text: "Groups" }));
      if (ctx.groups.length) {
        main.appendChild(el("table", { id: "groups" }, [
          el("thead", null, [el("tr", null, ["Id", "Name", "Key", "Zone", "Status", "Operations"].map(function (t) { return el("th", { scope: "col", text: t }); }))]),
          el("tbody", null, ctx.groups.map(function (g) {
            var ops = ctx.groupOps.filter(function (o) { return o.key === g.groupKey; }).map(function (o) { return o.ops.join(", "); });
            return el("tr", null, [el("td", { text: String(g.groupId) }), el("td", { text: g.name }), el("td", { text: g.groupKey }),
              el("td", { text: g.zoneId }), el("td", { text: g.status || "" }), el("td", { class: ops.length ? "down" : "", text: ops.join("; ") })]);
          }))]));
      } else main.appendChild(el("p", { class: "muted", text: "No groups." }));

      main.appendChild(el("h2", { text: "Route rules" }));
      if (ctx.rules.length) {
        var rows = [];
        ctx.rules.forEach(function (rule) {
          (rule.groups.length ? rule.groups : [null]).forEach(function (rg, k) {
            var g = rg ? ctx.byGroupId[rg.groupId] : null;
            rows.push(el("tr", null, [
              el("td", { text: k ? "" : rule.name + " (#" + rule.routeRuleId + ")" }),
              el("td", { text: k ? "" : (rule.status || "") + " " + (rule.strategy || "") }),
              el("td", { text: rg ? (g ? g.name : "group #" + rg.groupId) : "—" }),
              el("td", { class: "num", text: rg && rg.weight !== null && rg.weight !== undefined ? String(rg.weight) : "—" }),
              el("td", { class: "num", text: rg && rg.unreleasedWeight !== null && rg.unreleasedWeight !== undefined ? String(rg.unreleasedWeight) : "—" })
            ]));
          });
        });
        main.appendChild(el("table", { id: "rules" }, [
          el("thead", null, [el("tr", null, ["Rule", "Status / strategy", "Group", "Weight (released)", "Weight (unreleased)"].map(function (t) { return el("th", { scope: "col", text: t }); }))]),
          el("tbody", null, rows)]));
      } else main.appendChild(el("p", { class: "muted", text: "No route rules." }));

      // A re-render (a push while a dialog is open) must not take the focus out of the dialog.
      var f = focusId && document.getElementById(focusId);
      if (dlg.backdrop && !dlg.backdrop.hidden) { /* the dialog keeps the focus */ }
      else if (f) f.focus();
      else if (!focusId) h.focus();
      window.__serviceRenders = (window.__serviceRenders || 0) + 1;
    }

    function refresh() {
      return loadService(id).then(render).catch(function (e) {
        if (!current(gen)) return;
        clear(main);
        main.appendChild(heading("Service " + id));
        showError(main, e);
      });
    }
    view.refresh = refresh;
    return refresh().then(function () { if (current(gen)) watch(id, gen, refresh); });
  }

  /* ---- live updates: the existing WebSocket push ---------------------------------------- */

  function watch(id, gen, refresh) {
    var delay = 1000;
    var pending = 0;
    view.closed = false;
    function open() {
      if (!current(gen) || view.closed) return;
      var u = new URL("../ws/discovery/instance-change", location.href);
      u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
      u.hash = "";
      if (getToken()) u.search = "?access_token=" + encodeURIComponent(getToken());
      var ws;
      try { ws = new WebSocket(u.href); } catch (e) { setLive("live updates unavailable"); return; }
      view.socket = ws;
      ws.onopen = function () {
        delay = 1000;
        ws.send(JSON.stringify({ serviceId: id }));
        setLive("● live");
        window.__wsOpen = true;
      };
      ws.onmessage = function (ev) {
        var msg;
        try { msg = JSON.parse(ev.data); } catch (e) { return; }
        var list = Array.isArray(msg) ? msg : [msg];
        var relevant = list.some(function (c) {
          var t = String(c && c.changeType || "").toLowerCase();
          return t === "new" || t === "delete" || t === "reload" || t === "change";
        });
        /* Coalesce a burst of changes into one re-render. */
        if (relevant && !pending) {
          pending = setTimeout(function () { pending = 0; if (current(gen)) refresh(); }, 150);
        }
        window.__pushes = (window.__pushes || 0) + 1;
      };
      ws.onclose = function () {
        window.__wsOpen = false;
        if (view.socket === ws) view.socket = null;
        if (!current(gen) || view.closed) return;
        setLive("○ reconnecting");
        /* Reconnect with backoff (not a polling loop: nothing is fetched until it is open). */
        view.timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 30000);
      };
    }
    open();
  }

  /* ---- pull-out / pull-in dialog -------------------------------------------------------- */

  var dlg = {
    backdrop: document.getElementById("dialog-backdrop"),
    box: document.getElementById("dialog"),
    title: document.getElementById("dialog-title"),
    target: document.getElementById("dialog-target"),
    form: document.getElementById("dialog-form"),
    operator: document.getElementById("dialog-operator"),
    reason: document.getElementById("dialog-reason"),
    error: document.getElementById("dialog-error"),
    confirm: document.getElementById("dialog-confirm"),
    cancel: document.getElementById("dialog-cancel"),
    opener: null,
    action: null
  };

  function openDialog(ctx, inst, pullIn) {
    dlg.opener = document.activeElement;
    dlg.title.textContent = pullIn ? "Pull in instance" : "Pull out instance";
    dlg.target.textContent = inst.serviceId + " / " + inst.instanceId + " (" + inst.ip + ":" + inst.port + ")";
    dlg.confirm.textContent = pullIn ? "Pull in" : "Pull out";
    dlg.error.textContent = "";
    dlg.reason.value = "";
    dlg.confirm.disabled = false;
    dlg.action = function (operator, reason) {
      return post("api/management/operate-instance.json", {
        instanceKey: { regionId: inst.regionId, serviceId: inst.serviceId, instanceId: inst.instanceId },
        operation: "pullout",
        operationComplete: pullIn,
        operatorId: operator,
        token: "console",
        reason: reason
      });
    };
    dlg.backdrop.hidden = false;
    (dlg.operator.value ? dlg.reason : dlg.operator).focus();
  }

  function closeDialog() {
    if (dlg.backdrop.hidden) return;
    dlg.backdrop.hidden = true;
    dlg.action = null;
    if (dlg.opener && document.body.contains(dlg.opener)) dlg.opener.focus();
    dlg.opener = null;
  }

  dlg.form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var op = dlg.operator.value.trim(), reason = dlg.reason.value.trim();
    if (!op || !reason) {
      dlg.error.textContent = !op ? "Operator id is required." : "Reason is required.";
      (!op ? dlg.operator : dlg.reason).focus();
      return;
    }
    if (!dlg.action) return;
    dlg.confirm.disabled = true;
    dlg.action(op, reason).then(function () {
      closeDialog();
      if (view.refresh) return view.refresh();
    }).catch(function (e) {
      dlg.confirm.disabled = false;
      dlg.error.textContent = String(e.message || e);
    });
  });
  dlg.cancel.addEventListener("click", closeDialog);
  document.addEventListener("keydown", function (ev) {
    if (dlg.backdrop.hidden || !tok.backdrop.hidden) return;
    if (ev.key === "Escape" || ev.key === "Esc") {
      ev.preventDefault();
      closeDialog();
    } else if (ev.key === "Tab") {
      /* Keep focus inside the modal dialog. */
      var f = [dlg.operator, dlg.reason, dlg.confirm, dlg.cancel].filter(function (x) { return !x.disabled; });
      var i = f.indexOf(document.activeElement);
      if (ev.shiftKey && i <= 0) { ev.preventDefault(); f[f.length - 1].focus(); }
      else if (!ev.shiftKey && i === f.length - 1) { ev.preventDefault(); f[0].focus(); }
      else if (i < 0) { ev.preventDefault(); f[0].focus(); }
    }
  });

  /* ---- audit log ------------------------------------------------------------------------ */

  var LOGS = [
    ["instance-operation-logs", "instance operation"],
    ["server-operation-logs", "server operation"],
    ["zone-operation-logs", "zone operation"],
    ["group-operation-logs", "group operation"],
    ["group-logs", "group"],
    ["group-instance-logs", "group instance"],
    ["route-rule-logs", "route rule"],
    ["route-rule-group-logs", "route rule group"],
    ["service-instance-logs", "service instance"]
  ];

  function logTarget(l) {
    var parts = [];
    ["serviceId", "instanceId", "serverId", "zoneId", "groupId", "routeRuleId", "name", "groupKey"].forEach(function (k) {
      if (l[k] !== undefined && l[k] !== null && l[k] !== "") parts.push(k.replace(/Id$/, "") + "=" + l[k]);
    });
    return parts.join(" ");
  }

  function pageLog(params, gen) {
    return Promise.all(LOGS.map(function (p) {
      return post("api/management/log/" + p[0] + ".json", {}).then(function (j) {
        return (j.logs || []).map(function (l) { l.__kind = p[1]; return l; });
      });
    })).then(function (all) {
      if (!current(gen)) return;
      var rows = [].concat.apply([], all);
      rows.sort(function (a, b) { return (b.createTime || 0) - (a.createTime || 0) || (b.id || 0) - (a.id || 0); });
      var state = { q: params.q || "", page: 0 };
      clear(main);
      var h = heading("Audit log");
      main.appendChild(h);
      var search = el("input", { type: "search", id: "log-search", value: state.q });
      main.appendChild(el("div", { class: "toolbar" }, [el("label", { for: "log-search", text: "Filter" }), search,
        el("span", { class: "muted", text: rows.length + " entries, newest first" })]));
      var body = el("div");
      main.appendChild(body);
      function draw() {
        var q = state.q.toLowerCase();
        var list = q ? rows.filter(function (l) {
          return [l.__kind, l.operatorId, l.operation, l.reason, logTarget(l), l.token].join(" ").toLowerCase().indexOf(q) >= 0;
        }) : rows;
        clear(body);
        body.appendChild(el("table", { id: "log" }, [
          el("thead", null, [el("tr", null, ["Time", "Kind", "Operator", "Operation", "Target", "Reason", "Token"].map(function (t) { return el("th", { scope: "col", text: t }); }))]),
          el("tbody", null, list.slice(state.page * PAGE, state.page * PAGE + PAGE).map(function (l) {
            var op = l.operation || "";
            if (l.complete === true) op += " (complete: pull-in)";
            else if (l.complete === false) op += " (pull-out)";
            return el("tr", null, [el("td", { text: fmtTime(l.createTime) }), el("td", { text: l.__kind }),
              el("td", { text: l.operatorId || "" }), el("td", { text: op }), el("td", { text: logTarget(l) }),
              el("td", { text: l.reason || "" }), el("td", { text: l.token || "" })]);
          }))]));
        if (!list.length) body.appendChild(el("p", { class: "muted", text: "No entries." }));
        body.appendChild(pager(list.length, state.page, function (p) { state.page = p; draw(); }, "Log pages"));
      }
      search.addEventListener("input", function () { state.q = search.value; state.page = 0; draw(); });
      draw();
      h.focus();
    }).catch(function (e) {
      if (!current(gen)) return;
      clear(main);
      main.appendChild(heading("Audit log"));
      showError(main, e);
    });
  }

  /* ---- cluster -------------------------------------------------------------------------- */

  function kv(pairs) {
    var d = el("div", { class: "kv" });
    pairs.forEach(function (p) {
      d.appendChild(el("span", { class: "muted", text: p[0] }));
      d.appendChild(el("span", { class: p[2] || "", text: p[1] === undefined || p[1] === null ? "—" : String(p[1]) }));
    });
    return d;
  }

  function pageCluster(gen) {
    var health = getText("health").then(function (t) { return JSON.parse(t); }, function (e) { return { error: e.message }; });
    var metrics = getText("metrics").catch(function () { return ""; });
    return Promise.all([post("api/status/cluster.json", {}), health, metrics]).then(function (r) {
      if (!current(gen)) return;
      var cl = r[0], hj = r[1], mt = r[2];
      clear(main);
      var h = heading("Cluster");
      main.appendChild(h);
      main.appendChild(el("h2", { text: "Nodes (" + (cl.nodeCount || 0) + ")" }));
      main.appendChild(el("table", { id: "nodes" }, [
        el("thead", null, [el("tr", null, ["Node", "Zone", "Status", "Registry", "Discovery"].map(function (t) { return el("th", { scope: "col", text: t }); }))]),
        el("tbody", null, (cl.nodesStatus || []).map(function (n) {
          var node = n.node || {}, z = node.zone || {};
          return el("tr", null, [el("td", { text: node.url || "" }), el("td", { text: (z.regionId || "") + "/" + (z.zoneId || "") }),
            statusCell(n.status), el("td", { text: n.canServiceRegistry ? "yes" : "no" }), el("td", { text: n.canServiceDiscovery ? "yes" : "no" })]);
        }))]));
      var sp = hj.selfPreservation || {}, mg = hj.management || {};
      main.appendChild(el("h2", { text: "This node" }));
      main.appendChild(kv([
        ["Health", hj.status || hj.error, hj.status === "UP" ? "up" : "down"],
        ["Node status (bootstrap)", hj.nodeStatus, hj.nodeStatus === "up" ? "up" : "down"],
        ["Ready", hj.ready],
        ["Instances / services", (hj.instances || 0) + " / " + (hj.services || 0)],
        ["Self-preservation", sp.active ? "ACTIVE since " + fmtTime(sp.activeSinceMs) : "off", sp.active ? "down" : ""],
        ["Renewals in window / expected", (sp.renewalsInWindow || 0) + " / " + (sp.expectedRenewals || 0)],
        ["Management store", (mg.store || "?") + (mg.ok ? ": ok" : ": DOWN" + (mg.lastError ? " (" + mg.lastError + ")" : "")), mg.ok ? "up" : "down"],
        ["Version / uptime", (hj.version || "") + " / " + Math.round((hj.uptimeMs || 0) / 1000) + " s"]
      ]));
      main.appendChild(el("h2", { text: "Replication lag" }));
      var lag = mt.split("\n").filter(function (l) { return l.indexOf("artemis_replication_lag_seconds") === 0; });
      if (lag.length) {
        main.appendChild(el("table", { id: "lag" }, [
          el("thead", null, [el("tr", null, [el("th", { scope: "col", text: "Series" }), el("th", { scope: "col", class: "num", text: "Seconds" })])]),
          el("tbody", null, lag.map(function (l) {
            var i = l.lastIndexOf(" ");
            return el("tr", null, [el("td", { text: l.slice(0, i) }), el("td", { class: "num", text: l.slice(i + 1) })]);
          }))]));
      } else main.appendChild(el("p", { id: "lag-none", class: "muted", text: "artemis_replication_lag_seconds is not exported (no peers)." }));
      h.focus();
    }).catch(function (e) {
      if (!current(gen)) return;
      clear(main);
      main.appendChild(heading("Cluster"));
      showError(main, e);
    });
  }

  setToken(getToken());
  window.addEventListener("hashchange", route);
  window.__console = { route: route, version: 1 };
  route();
})();
