"""Deployment files of docker/ (issue 13 part 4): the Grafana dashboard, the Prometheus alert
rules and the Helm chart.

- Every metric an `expr` of the dashboard or the alert rules names is in a real scrape of a
  two-node cluster and a sidecar (with traffic, so histograms, replication lag and the
  sidecar's cache series exist), and every label it matches or groups by is a label of that
  metric (job and instance are Prometheus' own).
- `helm` is not installable here (not in Debian 12), so the chart is rendered by the small Go
  template interpreter below (the subset the chart uses: actions with trim markers, if / else
  if / else, range with variables, define / include, variables, pipelines, and the sprig
  functions listed in FUNCS); a `.Values` path missing from values.yaml is an error. The
  rendered YAML is parsed and checked: Chart.yaml, every `.Values.x.y` used exists and every
  value is used, the StatefulSet's --peers for 3 and 5 replicas, /health probes, selectors,
  the PodDisruptionBudget, the optional ServiceMonitor, the management-db Secret, the sidecar
  container (every ARTEMIS_SIDECAR_* variable is one the real sidecar reads); the rendered
  --peers and --node-url are accepted by the real server, which finds itself in the list.
"""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import shutil
import time
import urllib.request

import yaml

from lib import cluster, http, server
from lib.util import Api, check, eq, instance, wait_until

SERVER = False

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOCKER = os.path.join(ROOT, "docker")
CHART = os.path.join(DOCKER, "helm", "artemis")
DASHBOARD = os.path.join(DOCKER, "grafana", "artemis.json")
ALERTS = os.path.join(DOCKER, "prometheus", "artemis-alerts.yml")


# ---- a Go template interpreter, enough for the chart ----------------------------------------

class TemplateError(Exception):
    pass


# an action: {{ ... }} where the body may hold quoted strings containing "}}"
ACTION = re.compile(r'\{\{(-\s)?((?:"(?:[^"\\]|\\.)*"|`[^`]*`|[^"`}]|\}(?!\}))*?)(\s-)?\}\}', re.S)


def _lex(src):
    """[('text', s) | ('act', s)] with the trim markers applied."""
    out, pos, trim_next = [], 0, False
    for m in ACTION.finditer(src):
        text = src[pos:m.start()]
        if trim_next:
            text = text.lstrip()
        if m.group(1):
            text = text.rstrip()
        out.append(("text", text))
        body = m.group(2).strip()
        if not (body.startswith("/*") and body.endswith("*/")):
            out.append(("act", body))
        trim_next = bool(m.group(3))
        pos = m.end()
    text = src[pos:]
    out.append(("text", text.lstrip() if trim_next else text))
    return [t for t in out if t != ("text", "")]


def _parse(tokens, i, defines, stop=()):
    nodes = []
    while i < len(tokens):
        kind, s = tokens[i]
        if kind == "text":
            nodes.append(("text", s))
            i += 1
            continue
        word = s.split(None, 1)[0] if s else ""
        if word in stop or (s.startswith("else") and "else" in stop):
            return nodes, i
        if word == "if":
            node, i = _parse_if(tokens, i, defines)
            nodes.append(node)
        elif word == "range":
            body, j = _parse(tokens, i + 1, defines, ("end", "else"))
            els = []
            if tokens[j][1] == "else":
                els, j = _parse(tokens, j + 1, defines, ("end",))
            nodes.append(("range", s[5:].strip(), body, els))
            i = j + 1
        elif word == "define":
            name = json.loads(s[6:].strip())
            body, j = _parse(tokens, i + 1, defines, ("end",))
            defines[name] = body
            i = j + 1
        elif word in ("with", "template", "block", "break", "continue"):
            raise TemplateError("unsupported action {{%s}}" % s)
        else:
            nodes.append(("act", s))
            i += 1
    if stop:
        raise TemplateError("missing {{end}}")
    return nodes, i


def _parse_if(tokens, i, defines):
    cond = tokens[i][1].split(None, 1)[1]
    body, j = _parse(tokens, i + 1, defines, ("end", "else"))
    s = tokens[j][1]
    if s.startswith("else if "):
        tokens[j] = ("act", s[5:])  # the `else if X` token becomes an `if X` that shares our end
        sub, k = _parse_if(tokens, j, defines)
        return ("if", cond, body, [sub]), k
    els = []
    if s == "else":
        els, j = _parse(tokens, j + 1, defines, ("end",))
    return ("if", cond, body, els), j + 1


TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<raw>`[^`]*`)|(?P<num>-?\d+)(?![\w.])|'
                   r'(?P<op>:=|=|\||\(|\)|,)|(?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)|'
                   r'(?P<field>\.(?:[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)?)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*))')


def _tokens(s):
    out, pos = [], 0
    s = s.strip()
    while pos < len(s):
        m = TOKEN.match(s, pos)
        if not m or m.end() == pos:
            raise TemplateError("cannot parse %r at %d" % (s, pos))
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def truthy(v):
    return not (v is None or v is False or v == 0 and not isinstance(v, bool) and isinstance(v, (int, float))
                or (isinstance(v, (str, list, dict)) and len(v) == 0))


def gostr(v):
    if v is None:
        raise TemplateError("<no value> printed")
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        raise TemplateError("printing a %s: %r" % (type(v).__name__, v))
    return str(v)


def _printf(fmt, *args):
    out, k = [], 0
    for m in re.finditer(r"%[sdv%]|[^%]+", fmt):
        t = m.group(0)
        if t == "%%":
            out.append("%")
        elif t.startswith("%"):
            out.append(gostr(args[k]))
            k += 1
        else:
            out.append(t)
    return "".join(out)


def _to_yaml(v):
    return yaml.safe_dump(v, default_flow_style=False, sort_keys=False).rstrip("\n")


def _indent(n, s):
    return "\n".join((" " * n + line) if line else line for line in s.split("\n"))


FUNCS = {
    "quote": lambda v: '"%s"' % gostr(v).replace("\\", "\\\\").replace('"', '\\"'),
    "default": lambda d, v=None: v if truthy(v) else d,
    "int": int,
    "until": lambda n: list(range(n)),
    "printf": _printf,
    "trunc": lambda n, s: s[:n],
    "trimSuffix": lambda suf, s: s[: -len(suf)] if suf and s.endswith(suf) else s,
    "contains": lambda sub, s: sub in s,
    "hasKey": lambda d, k: k in d,
    "dict": lambda *kv: {kv[i]: kv[i + 1] for i in range(0, len(kv), 2)},
    "toYaml": _to_yaml,
    "nindent": lambda n, s: "\n" + _indent(n, s),
    "indent": _indent,
    "not": lambda v: not truthy(v),
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
}


class Renderer:
    def __init__(self, chart_dir, values, release="artemis", namespace="default"):
        with open(os.path.join(chart_dir, "Chart.yaml")) as f:
            chart = yaml.safe_load(f)
        self.root = {
            "Values": values,
            "Release": {"Name": release, "Namespace": namespace, "Service": "Helm"},
            "Chart": {"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
        }
        self.defines = {}
        self.files = {}
        tdir = os.path.join(chart_dir, "templates")
        for name in sorted(os.listdir(tdir)):
            with open(os.path.join(tdir, name)) as f:
                nodes, _ = _parse(_lex(f.read()), 0, self.defines)
            if not name.startswith("_"):
                self.files[name] = nodes

    def render(self, name):
        return self._run(self.files[name], self.root, [{"$": self.root}])

    def include(self, name, dot):
        if name not in self.defines:
            raise TemplateError("no template %r" % name)
        return self._run(self.defines[name], dot, [{"$": self.root}])

    # -- evaluation
    def _run(self, nodes, dot, scopes):
        out = []
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "act":
                v = self._pipeline(node[1], dot, scopes)
                if v is not _ASSIGNED:
                    out.append(gostr(v))
            elif kind == "if":
                branch = node[2] if truthy(self._pipeline(node[1], dot, scopes)) else node[3]
                out.append(self._run(branch, dot, scopes + [{}]))
            elif kind == "range":
                spec = node[1]
                names = []
                m = re.match(r"^(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=\s*(.*)$", spec, re.S)
                if m:
                    names = [n for n in m.groups()[:2] if n]
                    spec = m.group(3)
                coll = self._pipeline(spec, dot, scopes)
                items = list(coll.items()) if isinstance(coll, dict) else list(enumerate(coll or []))
                if isinstance(coll, dict):
                    items.sort()
                if not items:
                    out.append(self._run(node[3], dot, scopes + [{}]))
                for k, v in items:
                    scope = {}
                    if len(names) == 1:
                        scope[names[0]] = v
                    elif len(names) == 2:
                        scope[names[0]], scope[names[1]] = k, v
                    out.append(self._run(node[2], v, scopes + [scope]))
        return "".join(out)

    def _pipeline(self, s, dot, scopes):
        toks = _tokens(s)
        decl = None
        if len(toks) >= 2 and toks[0][0] == "var" and toks[1][1] in (":=", "="):
            decl = (toks[0][1], toks[1][1])
            toks = toks[2:]
        v, rest = self._pipe(toks, dot, scopes)
        if rest:
            raise TemplateError("trailing tokens in %r" % s)
        if decl:
            name, op = decl
            if op == ":=":
                scopes[-1][name] = v
            else:
                for sc in reversed(scopes):
                    if name in sc:
                        sc[name] = v
                        break
                else:
                    raise TemplateError("assignment to undeclared %s" % name)
            return _ASSIGNED
        return v

    def _pipe(self, toks, dot, scopes):
        value, have = None, False
        while True:
            cmd = []
            depth = 0
            while toks:
                t = toks[0]
                if depth == 0 and t[1] in ("|", ")"):
                    break
                depth += (t[1] == "(") - (t[1] == ")")
                cmd.append(t)
                toks = toks[1:]
            value = self._command(cmd, dot, scopes, value, have)
            have = True
            if toks and toks[0][1] == "|":
                toks = toks[1:]
                continue
            return value, toks

    def _command(self, cmd, dot, scopes, piped, have):
        if not cmd:
            raise TemplateError("empty command")
        args, i = [], 0
        head = cmd[0]
        while i < len(cmd):
            t = cmd[i]
            if t[1] == "(":
                depth, j = 1, i + 1
                while depth:
                    depth += (cmd[j][1] == "(") - (cmd[j][1] == ")")
                    j += 1
                v, rest = self._pipe(cmd[i + 1:j - 1], dot, scopes)
                args.append(v)
                i = j
                continue
            if i > 0 or t[0] != "ident":
                args.append(self._operand(t, dot, scopes))
            i += 1
        if head[0] == "ident":
            if have:
                args.append(piped)
            name = head[1]
            if name == "include":
                return self.include(args[0], args[1])
            if name in ("true", "false"):
                return name == "true"
            if name == "and":
                return all(truthy(a) for a in args) and args[-1]
            if name == "or":
                return next((a for a in args if truthy(a)), args[-1])
            if name not in FUNCS:
                raise TemplateError("function %r not in the interpreter" % name)
            return FUNCS[name](*args)
        if have or len(args) != 1:
            raise TemplateError("cannot call a non-function %r" % (cmd,))
        return args[0]

    def _operand(self, t, dot, scopes):
        kind, s = t
        if kind == "str":
            return json.loads(s)
        if kind == "raw":
            return s[1:-1]
        if kind == "num":
            return int(s)
        if kind == "field":
            return self._walk(dot, s[1:].split(".") if s != "." else [], s)
        if kind == "var":
            parts = s.split(".")
            for sc in reversed(scopes):
                if parts[0] in sc:
                    return self._walk(sc[parts[0]], parts[1:], s)
            raise TemplateError("undefined variable %s" % parts[0])
        raise TemplateError("unexpected %r" % (t,))

    @staticmethod
    def _walk(v, parts, what):
        for p in parts:
            if not isinstance(v, dict) or p not in v:
                raise TemplateError("%s: no %r (missing from values.yaml?)" % (what, p))
            v = v[p]
        return v


_ASSIGNED = object()


def load_values(**overrides):
    with open(os.path.join(CHART, "values.yaml")) as f:
        values = yaml.safe_load(f)
    for path, v in overrides.items():
        d = values
        keys = path.split("__")
        for k in keys[:-1]:
            d = d[k]
        check(keys[-1] in d, "override %s is not a value of values.yaml" % path)
        d[keys[-1]] = v
    return values


def render_chart(release="artemis", namespace="reg", **overrides):
    r = Renderer(CHART, load_values(**overrides), release, namespace)
    docs = []
    for name in sorted(r.files):
        if not name.endswith(".yaml"):
            continue
        text = r.render(name)
        for d in yaml.safe_load_all(text):
            if d is not None:
                d["__file__"] = name
                docs.append(d)
    return r, docs


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def expected_peers(full, ns, n, zone="default", port=8080):
    return "%s:%s" % (zone, ",".join("http://%s-%d.%s-headless.%s.svc.cluster.local:%d/" % (full, i, full, ns, port)
                                     for i in range(n)))


# ---- Helm chart -----------------------------------------------------------------------------

def test_chart_yaml(ctx):
    with open(os.path.join(CHART, "Chart.yaml")) as f:
        chart = yaml.safe_load(f)
    eq(chart["apiVersion"], "v2", "Chart.yaml apiVersion")
    eq(chart["name"], "artemis", "chart name")
    eq(chart["type"], "application", "chart type")
    check(re.fullmatch(r"\d+\.\d+\.\d+", chart["version"]), "chart version is SemVer: %r" % chart["version"])
    with open(os.path.join(ROOT, "include", "artemis", "version.h")) as f:
        ver = re.search(r'ARTEMIS_VERSION_STRING\s+"([^"]+)"', f.read()).group(1)
    eq(chart["appVersion"], ver, "appVersion = include/artemis/version.h")
    check(chart.get("description"), "a description")
    for name in ("Chart.yaml", "values.yaml", "templates/_helpers.tpl", "templates/_sidecar.tpl",
                 "templates/statefulset.yaml", "templates/services.yaml", "templates/pdb.yaml",
                 "templates/servicemonitor.yaml", "templates/sidecar-configmap.yaml", "templates/NOTES.txt"):
        check(os.path.isfile(os.path.join(CHART, name)), "chart has %s" % name)


def _leaf_paths(d, prefix=()):
    for k, v in d.items():
        if isinstance(v, dict) and v:
            yield from _leaf_paths(v, prefix + (k,))
        else:
            yield prefix + (k,)


def test_values_referenced_exist_and_are_used(ctx):
    values = load_values()
    refs = set()
    tdir = os.path.join(CHART, "templates")
    for name in os.listdir(tdir):
        with open(os.path.join(tdir, name)) as f:
            text = f.read()
        for m in re.finditer(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text):
            path = tuple(m.group(1)[1:].split("."))
            refs.add(path)
            d = values
            for k in path:
                check(isinstance(d, dict) and k in d, "%s uses .Values.%s, not in values.yaml" % (name, ".".join(path)))
                d = d[k]
    check(len(refs) > 20, "templates read values (%d paths)" % len(refs))
    unused = [".".join(p) for p in _leaf_paths(values) if not any(p[:len(r)] == r for r in refs)]
    eq(unused, [], "values.yaml keys no template reads")


def test_render_defaults(ctx):
    r, docs = render_chart("artemis", "reg")
    kinds = sorted(d["kind"] for d in docs)
    eq(kinds, ["ConfigMap", "PodDisruptionBudget", "Service", "Service", "StatefulSet"], "default objects")
    sts = by_kind(docs, "StatefulSet")[0]
    eq(sts["metadata"]["name"], "artemis", "fullname when the release is called artemis")
    spec = sts["spec"]
    eq(spec["replicas"], 3, "replicas")
    eq(spec["serviceName"], "artemis-headless", "serviceName = the headless Service")
    eq(spec["podManagementPolicy"], "Parallel", "podManagementPolicy")
    pod = spec["template"]
    labels = pod["metadata"]["labels"]
    for k, v in spec["selector"]["matchLabels"].items():
        eq(labels.get(k), v, "pod label %s matches the selector" % k)
    c = pod["spec"]["containers"][0]
    args = c["args"]
    peers = [a for a in args if a.startswith("--peers=")]
    eq(peers, ["--peers=" + expected_peers("artemis", "reg", 3)], "--peers for 3 replicas")
    eq(pod["metadata"]["annotations"]["artemis/peers"], expected_peers("artemis", "reg", 3), "peers annotation")
    check("--node-url=http://$(POD_NAME).artemis-headless.reg.svc.cluster.local:8080/" in args, "node-url: %r" % args)
    check("--data-dir=/var/lib/artemis" in args and "--listen=0.0.0.0:8080" in args, "listen and data-dir: %r" % args)
    check(not any(a.startswith("--management-db") for a in args), "no management-db by default")
    eq([e["name"] for e in c["env"]], ["POD_NAME"], "env")
    eq(c["ports"], [{"name": "http", "containerPort": 8080, "protocol": "TCP"}], "container port")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        eq(c[probe]["httpGet"], {"path": "/health", "port": "http"}, "%s on /health" % probe)
    eq(c["volumeMounts"], [{"name": "data", "mountPath": "/var/lib/artemis"}], "data-dir mount")
    vct = spec["volumeClaimTemplates"][0]
    eq(vct["metadata"]["name"], "data", "PVC template name")
    eq(vct["spec"]["resources"]["requests"]["storage"], "1Gi", "PVC size")
    check("volumes" not in pod["spec"], "no emptyDir with persistence")
    eq(c["resources"], {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}}, "resources")
    eq(c["image"], "artemis-server:" + r.root["Chart"]["AppVersion"], "image tag defaults to appVersion")

    svcs = {d["metadata"]["name"]: d for d in by_kind(docs, "Service")}
    eq(sorted(svcs), ["artemis", "artemis-headless"], "Services")
    h = svcs["artemis-headless"]["spec"]
    eq(h["clusterIP"], "None", "headless")
    eq(h["publishNotReadyAddresses"], True, "starting pods reachable by peers")
    for s in svcs.values():
        eq(s["spec"]["selector"], spec["selector"]["matchLabels"], "%s selects the pods" % s["metadata"]["name"])
        eq(s["spec"]["ports"][0]["targetPort"], "http", "targetPort")
    pdb = by_kind(docs, "PodDisruptionBudget")[0]
    eq(pdb["apiVersion"], "policy/v1", "PDB apiVersion")
    eq(pdb["spec"]["maxUnavailable"], 1, "PDB maxUnavailable")
    eq(pdb["spec"]["selector"]["matchLabels"], spec["selector"]["matchLabels"], "PDB selects the pods")
    cm = by_kind(docs, "ConfigMap")[0]
    eq(cm["metadata"]["name"], "artemis-sidecar", "sidecar ConfigMap name")
    eq(cm["data"]["ARTEMIS_SIDECAR_SERVER"], "http://artemis.reg.svc.cluster.local:8080", "sidecar registry URL")
    notes = r.render("NOTES.txt")
    check(expected_peers("artemis", "reg", 3) in notes, "NOTES show the peers: %s" % notes)
    check('{{- include "artemis.sidecar" (dict "root" $' in notes, "NOTES show the include: %s" % notes)


def _sidecar_env_names():
    p = subprocess.run([_sidecar_binary(), "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    return set(re.findall(r"\bARTEMIS_SIDECAR_[A-Z0-9_]+", p.stdout.decode()))


def test_render_options(ctx):
    r, docs = render_chart(
        "reg", "apps", replicaCount=5, zone="sha-z1", persistence__enabled=False,
        managementDb__existingSecret="artemis-pg", serviceMonitor__enabled=True,
        server__extraArgs=["--lease-ttl-ms=30000"], imagePullSecrets=[{"name": "regcred"}],
        server__tolerations=[{"key": "dedicated", "operator": "Exists"}],
        sidecar__example__enabled=True, podDisruptionBudget__enabled=False)
    kinds = sorted(d["kind"] for d in docs)
    eq(kinds, ["ConfigMap", "Deployment", "Service", "Service", "ServiceMonitor", "StatefulSet"], "objects")
    sts = by_kind(docs, "StatefulSet")[0]
    eq(sts["metadata"]["name"], "reg-artemis", "fullname <release>-artemis")
    pod = sts["spec"]["template"]["spec"]
    c = pod["containers"][0]
    eq([a for a in c["args"] if a.startswith("--peers=")], ["--peers=" + expected_peers("reg-artemis", "apps", 5, "sha-z1")],
       "--peers for 5 replicas")
    check("--management-db=$(ARTEMIS_MANAGEMENT_DB)" in c["args"], "management-db arg: %r" % c["args"])
    eq(c["args"][-1], "--lease-ttl-ms=30000", "extraArgs last")
    env = {e["name"]: e for e in c["env"]}
    eq(env["ARTEMIS_MANAGEMENT_DB"]["valueFrom"], {"secretKeyRef": {"name": "artemis-pg", "key": "url"}},
       "management-db from the Secret")
    check("volumeClaimTemplates" not in sts["spec"], "no PVC without persistence")
    eq(pod["volumes"], [{"name": "data", "emptyDir": {}}], "emptyDir without persistence")
    eq(pod["imagePullSecrets"], [{"name": "regcred"}], "imagePullSecrets")
    eq(pod["tolerations"], [{"key": "dedicated", "operator": "Exists"}], "tolerations")

    sm = by_kind(docs, "ServiceMonitor")[0]
    eq(sm["apiVersion"], "monitoring.coreos.com/v1", "ServiceMonitor apiVersion")
    ep = sm["spec"]["endpoints"][0]
    eq((ep["port"], ep["path"]), ("http", "/metrics"), "ServiceMonitor endpoint")
    headless = [s for s in by_kind(docs, "Service") if s["spec"].get("clusterIP") == "None"][0]
    for k, v in sm["spec"]["selector"]["matchLabels"].items():
        eq(headless["metadata"]["labels"].get(k), v, "ServiceMonitor selects the headless Service by %s" % k)
    client = [s for s in by_kind(docs, "Service") if s["spec"].get("clusterIP") != "None"][0]
    check(any(client["metadata"]["labels"].get(k) != v for k, v in sm["spec"]["selector"]["matchLabels"].items()),
          "the ServiceMonitor does not also scrape the client Service")
    eq(sm["spec"]["namespaceSelector"], {"matchNames": ["apps"]}, "ServiceMonitor namespace")

    cm = by_kind(docs, "ConfigMap")[0]
    dep = by_kind(docs, "Deployment")[0]
    tpl = dep["spec"]["template"]["spec"]
    names = [c["name"] for c in tpl["containers"]]
    eq(names, ["app", "artemis-sidecar"], "example pod containers")
    sc = tpl["containers"][1]
    eq(sc["envFrom"], [{"configMapRef": {"name": cm["metadata"]["name"]}}], "sidecar reads the ConfigMap")
    scenv = {e["name"]: e for e in sc["env"]}
    eq(scenv["ARTEMIS_SIDECAR_APP_SERVICE_ID"]["value"], "example.service", "service id")
    eq(scenv["ARTEMIS_SIDECAR_APP_PORT"]["value"], "8080", "app port (a string)")
    eq(scenv["ARTEMIS_SIDECAR_APP_HEALTH_CHECK_URL"]["value"], "http://127.0.0.1:8080/", "health URL")
    eq(scenv["ARTEMIS_SIDECAR_APP_IP"]["valueFrom"], {"fieldRef": {"fieldPath": "status.podIP"}}, "pod IP")
    eq(sc["image"], "artemis-sidecar:" + r.root["Chart"]["AppVersion"], "sidecar image")
    eq([v["name"] for v in tpl["volumes"]], [m["name"] for m in sc["volumeMounts"]], "sidecar volume")
    known = _sidecar_env_names()
    check(len(known) > 10, "sidecar --help lists its variables")
    for name in list(cm["data"]) + [n for n in scenv if n.startswith("ARTEMIS_SIDECAR_")]:
        check(name in known, "%s is not a variable artemis-sidecar reads" % name)
    eq(cm["data"]["ARTEMIS_SIDECAR_ZONE"], "sha-z1", "sidecar zone")
    eq(cm["data"]["ARTEMIS_SIDECAR_SERVER"], "http://reg-artemis.apps.svc.cluster.local:8080", "sidecar server")
    # the include with healthPath "" leaves the check out
    out = r.include("artemis.sidecar", {"root": r.root, "serviceId": "s", "appPort": 9000, "healthPath": ""})
    c2 = yaml.safe_load(out)[0]
    check("ARTEMIS_SIDECAR_APP_HEALTH_CHECK_URL" not in [e["name"] for e in c2["env"]], "healthPath \"\" = no check")


def test_rendered_peers_accepted_by_server(ctx):
    """The real server takes the rendered --peers and --node-url and finds itself in the list."""
    _, docs = render_chart("artemis", "reg")
    args = by_kind(docs, "StatefulSet")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    peers = [a for a in args if a.startswith("--peers=")][0]
    node_url = [a for a in args if a.startswith("--node-url=")][0].replace("$(POD_NAME)", "artemis-1")
    srv = server.Server([peers, node_url, "--region=default", "--zone=default",
                         "--artemis.service.cluster.node.status.force-up=true"], name="helm-peers")
    ctx.defer(srv.cleanup)
    srv.start()
    r = http.quick_get(srv.port, "/api/status/cluster.json").json()
    urls = {n["node"]["url"]: n["status"] for n in r["nodesStatus"]}
    eq(len(urls), 3, "nodes in cluster.json: %r" % urls)
    eq(urls.get("http://artemis-1.artemis-headless.reg.svc.cluster.local:8080/"), "up", "itself, up: %r" % urls)
    eq(srv.stop(5.0), 0, "exit status")


test_rendered_peers_accepted_by_server.timeout = 30


# ---- dashboard and alert rules ---------------------------------------------------------------

def test_dashboard_structure(ctx):
    with open(DASHBOARD) as f:
        text = f.read()
    d = json.loads(text)
    p = subprocess.run(["/usr/bin/python3", os.path.join(DOCKER, "grafana", "make-dashboard.py")],
                       stdout=subprocess.PIPE, timeout=30)
    eq(p.returncode, 0, "make-dashboard.py exit status")
    check(p.stdout.decode() == text, "docker/grafana/artemis.json is not what make-dashboard.py writes")
    check(35 <= d["schemaVersion"] <= 39, "schemaVersion %r" % d["schemaVersion"])
    check(d["uid"] and d["title"], "uid and title")
    tv = {v["name"]: v for v in d["templating"]["list"]}
    eq((tv["datasource"]["type"], tv["datasource"]["query"]), ("datasource", "prometheus"), "datasource variable")
    ids = [p["id"] for p in d["panels"]]
    eq(len(ids), len(set(ids)), "unique panel ids")
    n_targets = 0
    for p in d["panels"]:
        g = p["gridPos"]
        check(g["x"] + g["w"] <= 24, "panel %r fits the grid" % p["title"])
        if p["type"] == "row":
            continue
        eq(p["datasource"]["uid"], "${datasource}", "panel %r datasource" % p["title"])
        for t in p["targets"]:
            n_targets += 1
            eq(t["datasource"]["uid"], "${datasource}", "target datasource in %r" % p["title"])
            eq(t["expr"].count("("), t["expr"].count(")"), "balanced parentheses in %r" % t["expr"])
            eq(t["expr"].count("{"), t["expr"].count("}"), "balanced braces in %r" % t["expr"])
    check(n_targets > 50, "%d queries" % n_targets)
    rows = [p["title"] for p in d["panels"] if p["type"] == "row"]
    for want in ("HTTP", "Self-preservation", "Cluster and replication", "Management store", "WebSocket",
                 "Rate limiting and fairness", "Event loop", "Sidecar"):
        check(want in rows, "row %r in %r" % (want, rows))


def _alert_rules():
    with open(ALERTS) as f:
        doc = yaml.safe_load(f)
    return [r for g in doc["groups"] for r in g["rules"]]


def test_alert_rules_structure(ctx):
    rules = _alert_rules()
    names = [r["alert"] for r in rules]
    eq(len(names), len(set(names)), "unique alert names")
    for r in rules:
        check(r["labels"]["severity"] in ("critical", "warning", "info"), "%s severity" % r["alert"])
        for k in ("summary", "description", "runbook"):
            check(r["annotations"].get(k), "%s has %s" % (r["alert"], k))
        if "for" in r:
            check(re.fullmatch(r"\d+[smh]", r["for"]), "%s for: %r" % (r["alert"], r["for"]))
        e = r["expr"]
        eq(e.count("("), e.count(")"), "balanced parentheses in %s" % r["alert"])
    by = {r["alert"]: r for r in rules}

    def find(pred, what):
        hit = [r for r in rules if pred(r)]
        check(hit, "an alert for %s" % what)
        return hit[0]

    sp = find(lambda r: re.fullmatch(r"\s*artemis_self_preservation_active\s*==\s*1\s*", r["expr"]), "self-preservation")
    eq(sp["for"], "2m", "self-preservation for")
    ms = find(lambda r: re.fullmatch(r"\s*artemis_management_store_up\s*==\s*0\s*", r["expr"]), "store down")
    eq((ms["for"], ms["labels"]["severity"]), ("1m", "critical"), "store down for/severity")
    lag = find(lambda r: "artemis_replication_lag_seconds" in r["expr"], "replication lag")
    check('quantile="0.99"' in lag["expr"] and re.search(r">\s*[\d.]+\s*$", lag["expr"]), "lag threshold: %r" % lag["expr"])
    find(lambda r: re.search(r"\bup\{", r["expr"]) and "== 0" in r["expr"], "target down")
    find(lambda r: "artemis_cluster_node_up" in r["expr"] and "== 0" in r["expr"], "node not up")
    find(lambda r: "artemis_http_responses_5xx_total" in r["expr"], "5xx rate")
    find(lambda r: "artemis_loop_stalls_total" in r["expr"], "loop stalls")
    check(len(by) >= 8, "alerts: %r" % sorted(by))


# ---- every metric named is exported ----------------------------------------------------------

def _sidecar_binary():
    path = os.environ.get("ARTEMIS_SIDECAR") or os.path.join(ROOT, "build", "bin", "artemis-sidecar")
    check(os.access(path, os.X_OK), "sidecar %s does not exist (set ARTEMIS_SIDECAR)" % path)
    return path


def _free_udp_tcp_port():
    for _ in range(50):
        port = server.free_port()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
    raise AssertionError("no free port")


def _get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        return r.read().decode()


def _parse_scrape(text):
    """{series name: set of label names}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
        check(m, "unparsable scrape line %r" % line)
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""))
        out.setdefault(m.group(1), set()).update(labels)
    return out


def _scrape_everything(ctx):
    cl = cluster.Cluster(2, log_level="warn")
    ctx.defer(cl.cleanup)
    cl.start()
    n0 = cl.nodes[0]
    api0 = Api(http.Client(n0.port, timeout=5.0))
    api0.must_register(instance("deploy.svc", "d1"))
    api1 = Api(http.Client(cl.nodes[1].port, timeout=5.0))
    api1.wait_present("deploy.svc", "d1", timeout=5.0)
    wait_until(lambda: "artemis_replication_lag_seconds{" in _get(n0.port, "/metrics"), 5.0, 0.1,
               "replication lag series on node0")
    server_text = _get(n0.port, "/metrics")

    tmp = tempfile.mkdtemp(prefix="artemis-it-deploy-")
    ctx.defer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    dns_port, http_port = _free_udp_tcp_port(), server.free_port()
    conf = os.path.join(tmp, "sidecar.conf")
    with open(conf, "w") as f:
        f.write("\n".join([
            "server = http://127.0.0.1:%d" % n0.port, "region = sha", "zone = sha-z1",
            "app.service_id = deploy.app", "app.instance_id = a1", "app.ip = 127.0.0.1", "app.port = 9",
            # the sidecar's own /health stands in for the app's
            "app.health_check_url = http://127.0.0.1:%d/health" % http_port, "app.health_check_interval_ms = 200",
            "dns.listen = 127.0.0.1:%d" % dns_port, "http.listen = 127.0.0.1:%d" % http_port, ""]))
    log = open(os.path.join(tmp, "sidecar.log"), "wb")
    ctx.defer(log.close)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTEMIS_SIDECAR_")}
    proc = subprocess.Popen([_sidecar_binary(), "--config", conf], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, close_fds=True, env=env)

    def stop():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    ctx.defer(stop)

    def sidecar_ready():
        check(proc.poll() is None, "sidecar exited %s" % proc.poll())
        try:
            _get(http_port, "/v1/services/deploy.svc")
            return "artemis_sidecar_cache_age_seconds{" in _get(http_port, "/metrics")
        except OSError:
            return False

    wait_until(sidecar_ready, 8.0, 0.1, "sidecar up, with a cached service")
    sidecar_text = _get(http_port, "/metrics")
    return _parse_scrape(server_text), _parse_scrape(sidecar_text)


SELECTOR = re.compile(r"\b(artemis_[a-z0-9_]+)(\{([^}]*)\})?")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
PROM_LABELS = {"job", "instance"}


def _exprs():
    with open(DASHBOARD) as f:
        d = json.load(f)
    out = [("dashboard %r" % p["title"], t["expr"]) for p in d["panels"] for t in p.get("targets", [])]
    out += [("alert %s" % r["alert"], r["expr"]) for r in _alert_rules()]
    return out


def test_every_metric_named_is_exported(ctx):
    srv, side = _scrape_everything(ctx)
    exported = dict(srv)
    exported.update(side)
    problems = []
    used = set()
    for where, expr in _exprs():
        names_here = set()
        for m in SELECTOR.finditer(expr):
            name = m.group(1)
            names_here.add(name)
            used.add(name)
            if name not in exported:
                problems.append("%s: %s is not exported" % (where, name))
                continue
            for lab in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(3) or ""):
                if lab not in PROM_LABELS and lab not in exported[name]:
                    problems.append("%s: %s has no label %r (has %s)" % (where, name, lab, sorted(exported[name])))
        for m in GROUPING.finditer(expr):
            for lab in (x.strip() for x in m.group(1).split(",") if x.strip()):
                if lab in PROM_LABELS or lab == "le" and any(n.endswith("_bucket") for n in names_here):
                    continue
                if not any(lab in exported.get(n, ()) for n in names_here):
                    problems.append("%s: grouping by %r, a label of none of %s" % (where, lab, sorted(names_here)))
    eq(problems, [], "metric problems")
    # the dashboard shows every family the two programs export
    families = {re.sub(r"_(bucket|sum|count)$", "", n) for n in exported if n.startswith("artemis_")}
    shown = {re.sub(r"_(bucket|sum|count)$", "", n) for n in used}
    eq(sorted(families - shown), [], "exported metric families neither the dashboard nor an alert reads")


test_every_metric_named_is_exported.timeout = 60
