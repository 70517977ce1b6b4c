#!/usr/bin/env python3
"""A replay Kubernetes API server for tests (Python 3 standard library only).

Serves objects from a JSON fixture (a file or a directory of *.json) over HTTPS with the real wire
format: discovery, lists with a global resourceVersion and limit/continue, chunked watch streams
(ADDED/MODIFIED/DELETED, BOOKMARK with allowWatchBookmarks, ERROR with a 410 Status), the
fieldSelector spec.nodeName for pods, bearer-token (or client-certificate) authentication and
Status objects for errors. A control interface (HTTP over a unix socket) changes it while it runs.
See tests/k8s/README.md for the command line and the control paths.
"""
import argparse
import base64
import gzip
import http.server
import json
import os
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import replay_openapi  # tests/k8s/replay_openapi.py: the OpenAPI v3 documents

# (group, version, plural, kind, namespaced). The groups a DaemonSet manifest and palisade need.
RESOURCES = [
    ("", "v1", "pods", "Pod", True),
    ("", "v1", "namespaces", "Namespace", False),
    ("", "v1", "serviceaccounts", "ServiceAccount", True),
    ("", "v1", "services", "Service", True),
    ("", "v1", "endpoints", "Endpoints", True),
    ("", "v1", "nodes", "Node", False),
    ("", "v1", "configmaps", "ConfigMap", True),
    ("", "v1", "secrets", "Secret", True),
    ("apps", "v1", "daemonsets", "DaemonSet", True),
    ("apps", "v1", "deployments", "Deployment", True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False),
]
CALICO_KINDS = [
    ("globalnetworkpolicies", "GlobalNetworkPolicy", False),
    ("networkpolicies", "NetworkPolicy", True),
    ("tiers", "Tier", False),
    ("hostendpoints", "HostEndpoint", False),
    ("globalnetworksets", "GlobalNetworkSet", False),
    ("networksets", "NetworkSet", True),
]
CRD_GROUPS = {"crd.projectcalico.org", "projectcalico.org"}  # list items keep apiVersion/kind
SHORT_NAMES = {"pods": ["po"], "namespaces": ["ns"], "serviceaccounts": ["sa"], "services": ["svc"],
               "nodes": ["no"], "configmaps": ["cm"], "daemonsets": ["ds"],
               "deployments": ["deploy"], "networkpolicies": ["netpol"],
               "customresourcedefinitions": ["crd", "crds"], "endpoints": ["ep"]}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def status(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": message, "reason": reason, "code": code}
    if details:
        st["details"] = details
    return st


def gv_of(api_version):
    return tuple(api_version.split("/", 1)) if "/" in api_version else ("", api_version)


class Store:
    """Every version of every object, so a list at a past resourceVersion (a continued list) is a
    consistent snapshot, and the event history a watch replays. Guarded by cond."""

    def __init__(self, groups, disabled=()):
        self.cond = threading.Condition()
        self.rv = 1
        self.compacted = 0  # resourceVersions at or below this are gone from the history
        self.resources = {}  # (group, version, plural) -> (kind, namespaced)
        self.by_kind = {}  # (group, version, kind) -> plural
        for g, v, plural, kind, nsd in RESOURCES:
            if g not in disabled:
                self.add_resource(g, v, plural, kind, nsd)
        for g, v in groups:
            for plural, kind, nsd in CALICO_KINDS:
                self.add_resource(g, v, plural, kind, nsd)
        self.versions = {}  # key -> [(rv, obj or None)], key = (g, v, plural, ns, name)
        self.events = []  # (rv, key, type, obj, prev)
        self.watch_epoch = 0  # bumped to drop every watch
        self.state_file = None  # --state: every change is saved there (a restart resumes)

    def add_resource(self, g, v, plural, kind, nsd):
        self.resources[(g, v, plural)] = (kind, nsd)
        self.by_kind[(g, v, kind)] = plural

    def key_of(self, obj):
        g, v = gv_of(obj.get("apiVersion", ""))
        plural = self.by_kind.get((g, v, obj.get("kind", "")))
        if plural is None:
            raise ValueError("no resource for %s %s" % (obj.get("apiVersion"), obj.get("kind")))
        md = obj.setdefault("metadata", {})
        if not md.get("name"):
            raise ValueError("object without metadata.name")
        nsd = self.resources[(g, v, plural)][1]
        ns = md.setdefault("namespace", "default") if nsd else ""
        if not nsd:
            md.pop("namespace", None)
        return (g, v, plural, ns, md["name"])

    def current(self, key, at=None):
        for rv, obj in reversed(self.versions.get(key, [])):
            if at is None or rv <= at:
                return obj
        return None

    def upsert(self, obj):
        with self.cond:
            key = self.key_of(obj)
            prev = self.current(key)
            self.rv += 1
            md = obj["metadata"]
            md["resourceVersion"] = str(self.rv)
            md["uid"] = prev["metadata"]["uid"] if prev else str(uuid.uuid4())
            md["creationTimestamp"] = (prev["metadata"].get("creationTimestamp") if prev else None) \
                or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self.versions.setdefault(key, []).append((self.rv, obj))
            self.events.append((self.rv, key, "MODIFIED" if prev else "ADDED", obj, prev))
            self.save()
            self.cond.notify_all()
            return self.rv

    def delete(self, obj):
        with self.cond:
            key = self.key_of(obj)
            prev = self.current(key)
            if prev is None:
                return None
            self.rv += 1
            gone = json.loads(json.dumps(prev))
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self.versions[key].append((self.rv, None))
            self.events.append((self.rv, key, "DELETED", gone, prev))
            self.save()
            self.cond.notify_all()
            return self.rv

    def save(self):
        """The current objects and resourceVersion, written atomically (called under cond)."""
        if not self.state_file:
            return
        objs = [o for k in sorted(self.versions) for o in [self.current(k)] if o is not None]
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"resourceVersion": self.rv, "items": objs}, f)
        os.rename(tmp, self.state_file)

    def restore(self, path):
        """Objects and resourceVersion from a --state file: like an API server restarted on the
        same etcd, the history is gone (a watch from before gets 410)."""
        with open(path) as f:
            data = json.load(f)
        with self.cond:
            for obj in data["items"]:
                key = self.key_of(obj)
                rv = int(obj["metadata"]["resourceVersion"])
                self.versions[key] = [(rv, obj)]
            self.rv = self.compacted = int(data["resourceVersion"])

    def compact(self):
        """Forgets the history up to now: a watch or continue from an older version gets 410."""
        with self.cond:
            self.compacted = self.rv
            self.events = []
            for key in list(self.versions):
                latest = self.versions[key][-1]
                self.versions[key] = [latest] if latest[1] is not None else []
                if not self.versions[key]:
                    del self.versions[key]
            return self.rv

    def serve_group(self, g, v, on):
        """Serve Calico's kinds in g/v from now on (on) or stop serving them (their objects stay,
        hidden); every watch is dropped, so a watch of a group gone gets 404 when it comes back."""
        with self.cond:
            for plural, kind, nsd in CALICO_KINDS:
                if on:
                    self.add_resource(g, v, plural, kind, nsd)
                else:
                    self.resources.pop((g, v, plural), None)
                    self.by_kind.pop((g, v, kind), None)
        self.drop_watches()

    def raw_event(self, path, ev):
        """An event only watches of path see, as given (not stored: a list does not show it)."""
        parts = path.strip("/").split("/")
        res = ("", parts[1], parts[2]) if parts[0] == "api" and len(parts) == 3 else \
            (parts[1], parts[2], parts[3]) if parts[0] == "apis" and len(parts) == 4 else None
        if res not in self.resources:
            raise ValueError("raw-event: no resource at %s" % path)
        if "bytes" not in ev and not (isinstance(ev.get("type"), str) and
                                      isinstance(ev.get("object"), dict)):
            raise ValueError("raw-event: type and object, or bytes")
        with self.cond:
            self.rv += 1
            md = ev.get("object", {}).get("metadata")
            if isinstance(md, dict):
                md.setdefault("resourceVersion", str(self.rv))
            self.events.append((self.rv, res + ("", ""), "RAW", dict(ev), None))
            self.cond.notify_all()
            return self.rv

    def drop_watches(self):
        with self.cond:
            self.watch_epoch += 1
            self.cond.notify_all()

    def snapshot(self, res, ns, at):
        """Objects of resource res (namespace ns or all) at resourceVersion at, sorted by key."""
        out = []
        for key in sorted(self.versions):
            if key[:3] != res or (ns and key[3] != ns):
                continue
            obj = self.current(key, at)
            if obj is not None:
                out.append((key, obj))
        return out


def field_match(obj, selector):
    """fieldSelector: comma-separated a=b / a!=b on spec.nodeName, metadata.name, metadata.namespace."""
    if not selector:
        return True
    for term in selector.split(","):
        neg = "!=" in term
        path, _, want = term.partition("!=" if neg else "==" if "==" in term else "=")
        cur = obj
        for part in path.strip().split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        cur = "" if cur is None else str(cur)
        if (cur == want) == neg:
            return False
    return True


class Server:
    def __init__(self, args):
        self.args = args
        groups = [("crd.projectcalico.org", "v1")]
        if args.serve_v3:
            groups.append(("projectcalico.org", "v3"))
        self.disabled = set(args.disable_group or [])
        self.store = Store([g for g in groups if g[0] not in self.disabled], self.disabled)
        self.tokens = set(args.token or [])
        self.lock = threading.Lock()
        self.requests = []  # (method, path, query, code)
        self.faults = []  # POST /faults: answers that replace lists' and watches' (take_fault)
        self.wire = {}  # POST /wire: how answers are framed (gzip, chunked, split events)
        self.httpd = None
        self.port = args.port

    def ssl_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.args.tls_dir, "server.crt"),
                            os.path.join(self.args.tls_dir, "server.key"))
        ctx.load_verify_locations(os.path.join(self.args.tls_dir, "ca.crt"))
        ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate signed by the CA authenticates
        return ctx

    def start(self):
        if self.httpd:
            return
        api = self

        class Handler(ApiHandler):
            server_ref = api

        class HTTPServer(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        httpd = HTTPServer((self.args.bind, self.port), Handler)
        httpd.socket = self.ssl_context().wrap_socket(httpd.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        self.port = httpd.server_address[1]
        self.httpd = httpd
        threading.Thread(target=httpd.serve_forever, daemon=True).start()

    def stop(self):
        """Stops listening and drops every connection (the state stays for a later start)."""
        if not self.httpd:
            return
        httpd, self.httpd = self.httpd, None
        httpd.shutdown()
        httpd.server_close()
        self.store.drop_watches()

    def take_fault(self, path, watch, continued=False):
        """The first fault matching a list or watch of path (counted down, gone at 0), or None.
        A fault with "continued" matches only lists that name a continue token (true) or only
        those that do not (false)."""
        with self.lock:
            for f in self.faults:
                if not path.startswith(f.get("path", "/")) or f.get("watch", watch) != watch:
                    continue
                if f.get("continued", continued) != continued:
                    continue
                if "count" in f:
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self.faults.remove(f)
                return dict(f)
        return None

    def log_request(self, method, path, query, code, headers=None):
        with self.lock:
            self.requests.append({"method": method, "path": path, "query": query, "code": code,
                                  "t": time.monotonic(),
                                  "acceptEncoding": headers.get("Accept-Encoding", "")
                                  if headers else "",
                                  "contentEncoding": headers.get("_sent_encoding", "")
                                  if headers else ""})


class ApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_ref = None  # the Server, set by a subclass

    def log_message(self, fmt, *a):
        if self.server_ref.args.verbose:
            sys.stderr.write("replay: " + fmt % a + "\n")

    def setup(self):
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.request.close()
            raise
        super().setup()

    def send_json(self, code, body):
        self.send_bytes(code, "application/json", json.dumps(body).encode())

    def send_bytes(self, code, content_type, data):
        """As the API server: gzip when the client accepts it and the body is at least the wire's
        gzipMinBytes (the API server's threshold is 128 KiB), chunked when the wire says so."""
        wire = self.server_ref.wire
        sent = {"Accept-Encoding": self.headers.get("Accept-Encoding", "")}
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        gz_min = wire.get("gzipMinBytes")
        if gz_min is not None and len(data) >= gz_min and \
                "gzip" in sent["Accept-Encoding"].replace(" ", "").split(","):
            data = gzip.compress(data)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
            sent["_sent_encoding"] = "gzip"
        piece = int(wire.get("chunkedBytes") or 0)
        if piece:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), piece):
                part = data[i:i + piece]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        self.server_ref.log_request(self.command, self.path_only, self.query_s, code, sent)

    def authenticated(self):
        cert = self.request.getpeercert()
        if cert:
            return True
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:].strip() in self.server_ref.tokens

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        self.path_only, self.query_s = url.path, url.query
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        try:
            if not self.authenticated():
                return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
            self.route(url.path.rstrip("/") or "/", q)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def route(self, path, q):
        st = self.server_ref.store
        parts = path.strip("/").split("/") if path != "/" else []
        if path == "/version":
            return self.send_json(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-replay",
                                        "platform": "linux/amd64"})
        if path == "/openapi/v2":
            if "protobuf" in self.headers.get("Accept", ""):
                return self.send_bytes(200, replay_openapi.V2_PROTOBUF,
                                       replay_openapi.swagger_protobuf())
            return self.send_json(200, replay_openapi.swagger_json())
        if path == "/openapi/v3":
            return self.send_json(200, replay_openapi.index())
        if path.startswith("/openapi/v3/"):
            doc = replay_openapi.lookup(path[len("/openapi/v3/"):])
            return self.send_json(200, doc) if doc else self.not_found(path)
        if path == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [
                                            {"clientCIDR": "0.0.0.0/0",
                                             "serverAddress": "127.0.0.1:%d" % self.server_ref.port}]})
        if path == "/apis":
            return self.send_json(200, self.group_list())
        if parts[:1] == ["api"] and len(parts) >= 2:
            g, v, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            g, v, rest = parts[1], parts[2], parts[3:]
        elif parts[:1] == ["apis"] and len(parts) == 2:
            grp = [x for x in self.group_list()["groups"] if x["name"] == parts[1]]
            if grp:
                return self.send_json(200, dict(grp[0], kind="APIGroup", apiVersion="v1"))
            return self.not_found(path)
        else:
            return self.not_found(path)
        if not any(k[0] == g and k[1] == v for k in st.resources):
            return self.not_found(path)
        if not rest:
            return self.send_json(200, self.resource_list(g, v))
        ns = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        res = (g, v, rest[0])
        if res not in st.resources:
            return self.not_found(path)
        kind, nsd = st.resources[res]
        if ns and not nsd:
            return self.not_found(path)
        if len(rest) == 2:
            with st.cond:
                obj = st.current(res + (ns if nsd else "", rest[1]))
            if obj is None:
                return self.send_json(404, status(404, "NotFound", '%s "%s" not found' %
                                                  (rest[0], rest[1]),
                                                  {"name": rest[1], "kind": rest[0]}))
            return self.send_json(200, obj)
        if len(rest) != 1:
            return self.not_found(path)
        watch = q.get("watch") in ("true", "1")
        fault = self.server_ref.take_fault(path, watch, bool(q.get("continue")))
        if fault:
            return self.send_fault(fault, watch)
        if watch:
            return self.watch(res, kind, ns, q)
        return self.list(res, kind, ns, q)

    FAULT_REASONS = {403: "Forbidden", 410: "Expired", 429: "TooManyRequests", 500: "InternalError",
                     503: "ServiceUnavailable", 504: "Timeout"}

    def send_fault(self, fault, watch):
        """A fault's answer: status 200 to a watch is a stream that ends at once with no event;
        with errorEvent, a watch gets a 200 stream of one ERROR event carrying the Status of the
        fault's status and message; any other status a Status body, with Retry-After when the
        fault has retryAfter."""
        code, after = int(fault["status"]), fault.get("retryAfter")
        as_event = watch and fault.get("errorEvent")
        self.send_response(200 if as_event else code)
        self.send_header("Content-Type", "application/json")
        if (code == 200 or as_event) and watch:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if as_event:
                self.chunk({"type": "ERROR", "object": status(
                    code, self.FAULT_REASONS.get(code, "Failure"),
                    fault.get("message", "injected fault"))})
            self.wfile.write(b"0\r\n\r\n")
            code = 200
        else:
            if after is not None:
                self.send_header("Retry-After", str(after))
            body = json.dumps(status(code, self.FAULT_REASONS.get(code, "Failure"),
                                     fault.get("message", "injected fault"),
                                     {"retryAfterSeconds": after} if after is not None else None))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())
        self.server_ref.log_request("WATCH" if watch else "GET", self.path_only, self.query_s, code)

    def not_found(self, path):
        return self.send_json(404, status(404, "NotFound", "the server could not find the requested "
                                          "resource", {"causes": [{"message": path}]}))

    def group_list(self):
        st = self.server_ref.store
        groups = sorted({(g, v) for (g, v, _) in st.resources if g})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v}],
             "preferredVersion": {"groupVersion": "%s/%s" % (g, v), "version": v}}
            for g, v in groups]}

    def resource_list(self, g, v):
        st = self.server_ref.store
        res = [{"name": p, "singularName": k.lower(), "namespaced": nsd, "kind": k, "verbs": VERBS,
                "shortNames": SHORT_NAMES.get(p, []) if not g or not g.endswith("projectcalico.org")
                else []}
               for (rg, rv, p), (k, nsd) in sorted(st.resources.items()) if rg == g and rv == v]
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": "%s/%s" % (g, v) if g else v, "resources": res}

    def item(self, res, kind, obj):
        out = json.loads(json.dumps(obj))
        if res[0] not in CRD_GROUPS:  # built-in lists carry items without apiVersion/kind
            out.pop("apiVersion", None)
            out.pop("kind", None)
        return out

    def list(self, res, kind, ns, q):
        st = self.server_ref.store
        sel = q.get("fieldSelector", "")
        limit = int(q.get("limit") or 0)
        start = None
        match = q.get("resourceVersionMatch", "")
        if match and (match != "NotOlderThan" or not q.get("resourceVersion")
                      or q.get("continue")):
            return self.send_json(400, status(400, "BadRequest", "resourceVersionMatch %r needs "
                                              "a resourceVersion and no continue" % match))
        with st.cond:
            at = st.rv
            if match and int(q["resourceVersion"]) > st.rv:  # as the API server: newer than all
                return self.send_json(504, status(504, "Timeout", "Too large resource version"))
            if q.get("continue"):
                try:
                    tok = json.loads(base64.b64decode(q["continue"]))
                    at, start = int(tok["rv"]), tuple(tok["start"])
                except (ValueError, KeyError, TypeError):
                    return self.send_json(400, status(400, "BadRequest", "invalid continue token"))
                if at <= st.compacted and at < st.rv:
                    return self.send_json(410, status(410, "Expired",
                                                      "The provided continue parameter is too old "
                                                      "to display a consistent list result. You can "
                                                      "start a new list without the continue "
                                                      "parameter."))
            objs = [(k, o) for k, o in st.snapshot(res, ns, at)
                    if (start is None or k > start) and field_match(o, sel)]
        md = {} if self.server_ref.wire.get("listWithoutResourceVersion") else {
            "resourceVersion": str(at)}
        if limit and len(objs) > limit:
            last = objs[limit - 1][0]
            md["continue"] = base64.b64encode(json.dumps({"rv": at, "start": list(last)})
                                              .encode()).decode()
            md["remainingItemCount"] = len(objs) - limit
            objs = objs[:limit]
        g, v = res[0], res[1]
        self.send_json(200, {"kind": kind + "List", "apiVersion": "%s/%s" % (g, v) if g else v,
                             "metadata": md, "items": [self.item(res, kind, o) for _, o in objs]})

    def chunk(self, event):
        """One watch event as one chunk; with the wire's splitEventBytes N as chunks of N bytes,
        each sent on its own (an event split across the client's reads, as a proxy may)."""
        data = (json.dumps(event) + "\n").encode()
        piece = int(self.server_ref.wire.get("splitEventBytes") or 0) or len(data)
        for i in range(0, len(data), piece):
            part = data[i:i + piece]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.flush()
            if piece < len(data):
                time.sleep(0.002)

    def watch(self, res, kind, ns, q):
        srv = self.server_ref
        st = srv.store
        sel = q.get("fieldSelector", "")
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        seconds = float(q.get("timeoutSeconds") or 1800)
        if srv.wire.get("watchSeconds"):  # the server ends watches sooner, cleanly
            seconds = min(seconds, float(srv.wire["watchSeconds"]))
        deadline = time.monotonic() + seconds
        g, v = res[0], res[1]
        api_version = "%s/%s" % (g, v) if g else v

        def full(obj):
            o = json.loads(json.dumps(obj))
            o["apiVersion"], o["kind"] = api_version, kind
            return o

        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        srv.log_request("WATCH", self.path_only, self.query_s, 200,
                        {"Accept-Encoding": self.headers.get("Accept-Encoding", "")})
        rv_s = q.get("resourceVersion", "")
        with st.cond:
            epoch = st.watch_epoch
            if rv_s in ("", "0"):  # "from any point": the current state as ADDED events
                since = st.rv
                initial = [full(o) for _, o in st.snapshot(res, ns, since) if field_match(o, sel)]
            else:
                since, initial = int(rv_s), []
                if since < st.compacted:
                    self.chunk({"type": "ERROR", "object": status(
                        410, "Expired", "too old resource version: %d (%d)" % (since, st.compacted))})
                    self.wfile.write(b"0\r\n\r\n")
                    return
        for o in initial:
            self.chunk({"type": "ADDED", "object": o})
        last_bookmark = time.monotonic()
        while True:
            with st.cond:
                pending = [e for e in st.events if e[0] > since]
                if not pending and st.watch_epoch == epoch:
                    st.cond.wait(0.2)
                    pending = [e for e in st.events if e[0] > since]
                dropped = st.watch_epoch != epoch
                current = st.rv
            if dropped:  # abrupt: no terminating chunk, the client sees a broken stream
                self.close_connection = True
                self.request.shutdown(socket.SHUT_RDWR)
                return
            for rv, key, typ, obj, prev in pending:
                since = rv
                if key[:3] != res or (ns and key[3] != ns):
                    continue
                if typ == "RAW":  # POST /raw-event: written as given, whatever the store holds
                    if obj.get("once") and obj.get("sent"):
                        continue
                    obj["sent"] = True
                    if "bytes" not in obj:
                        self.chunk({"type": obj["type"], "object": obj["object"]})
                        continue
                    data = obj["bytes"].encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                    if obj.get("close"):  # the connection dropped in the middle of an event
                        self.close_connection = True
                        self.request.shutdown(socket.SHUT_RDWR)
                        return
                    continue
                now_m = obj is not None and typ != "DELETED" and field_match(obj, sel)
                was_m = prev is not None and field_match(prev, sel)
                if typ == "DELETED":
                    out = "DELETED" if was_m else None
                elif now_m:
                    out = "MODIFIED" if was_m else "ADDED"
                else:  # left the field selector: gone for this watcher
                    out = "DELETED" if was_m else None
                if out:
                    self.chunk({"type": out, "object": full(obj)})
            if not pending:
                since = max(since, current)
            if bookmarks and time.monotonic() - last_bookmark >= srv.args.bookmark_interval:
                last_bookmark = time.monotonic()
                self.chunk({"type": "BOOKMARK", "object": {
                    "kind": kind, "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(since)}}})
            if time.monotonic() >= deadline:
                self.wfile.write(b"0\r\n\r\n")
                return


def load_fixture(path):
    """A JSON object, a List, an array, or a directory of *.json files (sorted by name)."""
    if os.path.isdir(path):
        out = []
        for name in sorted(os.listdir(path)):
            if name.endswith(".json"):
                out += load_fixture(os.path.join(path, name))
        return out
    with open(path) as f:
        data = json.load(f)
    return flatten(data)


def flatten(data):
    if isinstance(data, list):
        return [o for d in data for o in flatten(d)]
    if isinstance(data, dict) and data.get("kind", "").endswith("List") and "items" in data:
        return flatten(data["items"])
    if isinstance(data, dict):
        return [data]
    raise ValueError("not an object, a List or an array")


class ControlHandler(http.server.BaseHTTPRequestHandler):
    """POST /objects (upsert an object, a List or an array), /delete (objects by apiVersion, kind,
    metadata.namespace/name), /compact, /drop-watches, /token ({"tokens": [...]}),
    /faults ({"faults": [{"path", "watch", "continued", "status", "retryAfter", "count"}]}),
    /serve-v3 ({"serve": true|false}), /stop, /start;
    GET /state, /requests."""
    protocol_version = "HTTP/1.0"
    api = None

    def address_string(self):
        return "control"

    def log_message(self, fmt, *a):
        pass

    def reply(self, code, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        api = self.api
        if self.path == "/state":
            st = api.store
            with st.cond:
                n = sum(1 for k in st.versions if st.current(k) is not None)
                return self.reply(200, {"resourceVersion": st.rv, "compacted": st.compacted,
                                        "objects": n, "port": api.port,
                                        "serving": api.httpd is not None})
        if self.path == "/requests":
            with api.lock:
                return self.reply(200, api.requests)
        self.reply(404, {"error": "no such path"})

    def do_POST(self):
        api, st = self.api, self.api.store
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        try:
            data = json.loads(body) if body.strip() else None
            if self.path == "/objects":
                rv = [st.upsert(o) for o in flatten(data)]
                return self.reply(200, {"resourceVersion": rv[-1] if rv else st.rv})
            if self.path == "/delete":
                rv = [st.delete(o) for o in flatten(data)]
                if None in rv:
                    return self.reply(404, {"error": "not found"})
                return self.reply(200, {"resourceVersion": rv[-1] if rv else st.rv})
            if self.path == "/compact":
                return self.reply(200, {"compacted": st.compact()})
            if self.path == "/raw-event":
                ev = dict(data)
                return self.reply(200, {"resourceVersion": st.raw_event(ev.pop("path"), ev)})
            if self.path == "/drop-watches":
                st.drop_watches()
                return self.reply(200, {})
            if self.path == "/faults":
                faults = data["faults"]
                if not isinstance(faults, list) or not all(isinstance(f, dict) and "status" in f
                                                            for f in faults):
                    raise ValueError("faults: a list of objects with a status")
                with api.lock:
                    api.faults = [dict(f) for f in faults]
                return self.reply(200, {})
            if self.path == "/wire":
                if not isinstance(data, dict) or not set(data) <= {
                        "gzipMinBytes", "chunkedBytes", "splitEventBytes", "watchSeconds",
                        "listWithoutResourceVersion"}:
                    raise ValueError("wire: an object of gzipMinBytes, chunkedBytes, "
                                     "splitEventBytes, watchSeconds, "
                                     "listWithoutResourceVersion")
                with api.lock:
                    api.wire = {k: v for k, v in data.items() if v is not None}
                return self.reply(200, {})
            if self.path == "/token":
                api.tokens = set(data["tokens"])
                return self.reply(200, {})
            if self.path == "/serve-v3":
                st.serve_group("projectcalico.org", "v3", bool(data["serve"]))
                return self.reply(200, {})
            if self.path == "/stop":
                api.stop()
                return self.reply(200, {})
            if self.path == "/start":
                api.start()
                return self.reply(200, {"port": api.port})
        except (ValueError, KeyError, TypeError) as e:
            return self.reply(400, {"error": str(e)})
        self.reply(404, {"error": "no such path"})


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def make_tls(d):
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, per run."""
    def ossl(*a):
        subprocess.run(["openssl"] + list(a), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "2", "-subj", "/CN=replay-test-ca")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                 "extendedKeyUsage=serverAuth\n"),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        with open(p(name + ".ext"), "w") as f:
            f.write(ext)
        ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj",
             "/CN=replay-" + name + ("/O=system:nodes" if name == "client" else ""))
        ossl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
             "-CAcreateserial", "-out", p(name + ".crt"), "-days", "2", "-extfile", p(name + ".ext"))


def write_kubeconfig(path, port, tls_dir, token):
    text = """apiVersion: v1
kind: Config
clusters:
- name: replay
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority: %s
users:
- name: replay-user
  user:
    token: %s
contexts:
- name: replay
  context:
    cluster: replay
    user: replay-user
current-context: replay
""" % (port, os.path.join(tls_dir, "ca.crt"), token)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixture", help="JSON file or directory of *.json served from the start")
    ap.add_argument("--tls-dir", required=True,
                    help="ca.crt, server.crt/key (generated here unless present)")
    ap.add_argument("--token", action="append", help="accepted bearer token (repeatable)")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = a free port")
    ap.add_argument("--control", required=True, help="unix socket of the control interface")
    ap.add_argument("--port-file", help="written with the port once serving")
    ap.add_argument("--kubeconfig-out", help="write a kubeconfig for this server (first token)")
    ap.add_argument("--serve-v3", action="store_true", help="also serve projectcalico.org/v3")
    ap.add_argument("--disable-group", action="append",
                    help="do not serve this API group (e.g. crd.projectcalico.org: 404)")
    ap.add_argument("--bookmark-interval", type=float, default=1.0, help="seconds")
    ap.add_argument("--state", help="save every change here; at start, resume from it when it "
                                    "exists (objects and resourceVersion; the history is gone)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    if not os.path.exists(os.path.join(args.tls_dir, "server.crt")):
        make_tls(args.tls_dir)
    api = Server(args)
    if args.state and os.path.exists(args.state):
        api.store.restore(args.state)
    else:
        for obj in load_fixture(args.fixture) if args.fixture else []:
            api.store.upsert(obj)
    api.store.state_file = args.state
    with api.store.cond:
        api.store.save()
    api.start()

    if os.path.exists(args.control):
        os.unlink(args.control)
    ControlHandler.api = api
    ctl = UnixServer(args.control, ControlHandler)
    threading.Thread(target=ctl.serve_forever, daemon=True).start()

    if args.kubeconfig_out:
        write_kubeconfig(args.kubeconfig_out, api.port, args.tls_dir, (args.token or [""])[0])
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % api.port)
        os.rename(args.port_file + ".tmp", args.port_file)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    done.wait()
    api.stop()
    ctl.server_close()
    os.unlink(args.control)


if __name__ == "__main__":
    main()
