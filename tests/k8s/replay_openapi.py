"""OpenAPI v3 documents for the replay API server: the schemas of the kinds deploy/kubernetes
uses, so `kubectl apply --dry-run=client` validates those manifests (unknown or misspelt fields,
wrong types) as against a real API server.

Only a subset of each Kubernetes type is described: the fields deploy/kubernetes uses and their
common neighbours, with the real names, types and nesting. A field the manifests start using must
get a line here, or kubectl reports it as unknown (which is the point of the check).
"""
import hashlib
import json

MAP_OF_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
STRINGS = {"type": "array", "items": {"type": "string"}}
INT = {"type": "integer", "format": "int32"}
INT64 = {"type": "integer", "format": "int64"}
BOOL = {"type": "boolean"}
STR = {"type": "string"}
INT_OR_STRING = {"x-kubernetes-int-or-string": True}

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."
RBAC = "io.k8s.api.rbac.v1."
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def ref(name):
    return {"$ref": "#/components/schemas/" + name}


def array_of(name):
    return {"type": "array", "items": ref(name)}


def obj(props, required=()):
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


def probe():
    return obj({"httpGet": ref(CORE + "HTTPGetAction"), "exec": ref(CORE + "ExecAction"),
                "tcpSocket": ref(CORE + "TCPSocketAction"), "initialDelaySeconds": INT,
                "periodSeconds": INT, "timeoutSeconds": INT, "successThreshold": INT,
                "failureThreshold": INT, "terminationGracePeriodSeconds": INT64})


# Every schema, by its Kubernetes definition name. Shared by every group-version document.
SCHEMAS = {
    QUANTITY: {"type": "string"},
    META + "ObjectMeta": obj({
        "name": STR, "generateName": STR, "namespace": STR, "uid": STR, "resourceVersion": STR,
        "generation": INT64, "creationTimestamp": STR, "labels": MAP_OF_STRINGS,
        "annotations": MAP_OF_STRINGS, "finalizers": STRINGS}),
    META + "LabelSelector": obj({"matchLabels": MAP_OF_STRINGS,
                                 "matchExpressions": {"type": "array", "items": obj({
                                     "key": STR, "operator": STR, "values": STRINGS},
                                     ("key", "operator"))}}),
    CORE + "Namespace": obj({"apiVersion": STR, "kind": STR, "metadata": ref(META + "ObjectMeta"),
                             "spec": obj({"finalizers": STRINGS})}),
    CORE + "ServiceAccount": obj({"apiVersion": STR, "kind": STR,
                                  "metadata": ref(META + "ObjectMeta"),
                                  "automountServiceAccountToken": BOOL,
                                  "imagePullSecrets": {"type": "array",
                                                       "items": obj({"name": STR})}}),
    CORE + "ConfigMap": obj({"apiVersion": STR, "kind": STR, "metadata": ref(META + "ObjectMeta"),
                             "data": MAP_OF_STRINGS, "binaryData": MAP_OF_STRINGS,
                             "immutable": BOOL}),
    CORE + "PodTemplateSpec": obj({"metadata": ref(META + "ObjectMeta"),
                                   "spec": ref(CORE + "PodSpec")}),
    CORE + "PodSpec": obj({
        "containers": array_of(CORE + "Container"), "initContainers": array_of(CORE + "Container"),
        "volumes": array_of(CORE + "Volume"), "hostNetwork": BOOL, "hostPID": BOOL,
        "hostIPC": BOOL, "dnsPolicy": STR, "nodeSelector": MAP_OF_STRINGS,
        "serviceAccountName": STR, "automountServiceAccountToken": BOOL,
        "priorityClassName": STR, "terminationGracePeriodSeconds": INT64,
        "tolerations": array_of(CORE + "Toleration"),
        "securityContext": ref(CORE + "PodSecurityContext"), "restartPolicy": STR},
        ("containers",)),
    CORE + "Toleration": obj({"key": STR, "operator": STR, "value": STR, "effect": STR,
                              "tolerationSeconds": INT64}),
    CORE + "PodSecurityContext": obj({"seLinuxOptions": ref(CORE + "SELinuxOptions"),
                                      "appArmorProfile": ref(CORE + "AppArmorProfile"),
                                      "runAsUser": INT64, "runAsGroup": INT64,
                                      "runAsNonRoot": BOOL, "fsGroup": INT64}),
    CORE + "SELinuxOptions": obj({"user": STR, "role": STR, "type": STR, "level": STR}),
    CORE + "AppArmorProfile": obj({"type": STR, "localhostProfile": STR}, ("type",)),
    CORE + "Container": obj({
        "name": STR, "image": STR, "imagePullPolicy": STR, "command": STRINGS, "args": STRINGS,
        "workingDir": STR, "env": array_of(CORE + "EnvVar"),
        "ports": array_of(CORE + "ContainerPort"),
        "resources": ref(CORE + "ResourceRequirements"),
        "volumeMounts": array_of(CORE + "VolumeMount"),
        "livenessProbe": ref(CORE + "Probe"), "readinessProbe": ref(CORE + "Probe"),
        "startupProbe": ref(CORE + "Probe"),
        "securityContext": ref(CORE + "SecurityContext")}, ("name",)),
    CORE + "EnvVar": obj({"name": STR, "value": STR, "valueFrom": obj({
        "fieldRef": obj({"apiVersion": STR, "fieldPath": STR}, ("fieldPath",)),
        "configMapKeyRef": obj({"name": STR, "key": STR, "optional": BOOL}, ("key",))})},
        ("name",)),
    CORE + "ContainerPort": obj({"name": STR, "containerPort": INT, "hostPort": INT,
                                 "hostIP": STR, "protocol": STR}, ("containerPort",)),
    CORE + "ResourceRequirements": obj({"limits": {"type": "object",
                                                   "additionalProperties": ref(QUANTITY)},
                                        "requests": {"type": "object",
                                                     "additionalProperties": ref(QUANTITY)}}),
    CORE + "VolumeMount": obj({"name": STR, "mountPath": STR, "readOnly": BOOL, "subPath": STR,
                               "mountPropagation": STR}, ("name", "mountPath")),
    CORE + "Probe": probe(),
    CORE + "HTTPGetAction": obj({"host": STR, "path": STR, "port": INT_OR_STRING,
                                 "scheme": STR}, ("port",)),
    CORE + "TCPSocketAction": obj({"host": STR, "port": INT_OR_STRING}, ("port",)),
    CORE + "ExecAction": obj({"command": STRINGS}),
    CORE + "SecurityContext": obj({
        "privileged": BOOL, "allowPrivilegeEscalation": BOOL, "readOnlyRootFilesystem": BOOL,
        "runAsUser": INT64, "runAsNonRoot": BOOL,
        "capabilities": obj({"add": STRINGS, "drop": STRINGS}),
        "seLinuxOptions": ref(CORE + "SELinuxOptions"),
        "appArmorProfile": ref(CORE + "AppArmorProfile")}),
    CORE + "Volume": obj({"name": STR,
                          "hostPath": obj({"path": STR, "type": STR}, ("path",)),
                          "configMap": obj({"name": STR, "optional": BOOL, "defaultMode": INT}),
                          "emptyDir": obj({"medium": STR})}, ("name",)),
    APPS + "DaemonSet": obj({"apiVersion": STR, "kind": STR, "metadata": ref(META + "ObjectMeta"),
                             "spec": ref(APPS + "DaemonSetSpec")}),
    APPS + "DaemonSetSpec": obj({
        "selector": ref(META + "LabelSelector"), "template": ref(CORE + "PodTemplateSpec"),
        "updateStrategy": obj({"type": STR, "rollingUpdate": obj({
            "maxUnavailable": INT_OR_STRING, "maxSurge": INT_OR_STRING})}),
        "minReadySeconds": INT, "revisionHistoryLimit": INT}, ("selector", "template")),
    RBAC + "PolicyRule": obj({"apiGroups": STRINGS, "resources": STRINGS, "verbs": STRINGS,
                              "resourceNames": STRINGS, "nonResourceURLs": STRINGS}, ("verbs",)),
    RBAC + "ClusterRole": obj({"apiVersion": STR, "kind": STR,
                               "metadata": ref(META + "ObjectMeta"),
                               "rules": array_of(RBAC + "PolicyRule")}),
    RBAC + "ClusterRoleBinding": obj({
        "apiVersion": STR, "kind": STR, "metadata": ref(META + "ObjectMeta"),
        "subjects": {"type": "array", "items": obj({"kind": STR, "name": STR, "namespace": STR,
                                                    "apiGroup": STR}, ("kind", "name"))},
        "roleRef": obj({"apiGroup": STR, "kind": STR, "name": STR},
                       ("apiGroup", "kind", "name"))}, ("roleRef",)),
}

# The top-level kinds of each group-version document ("" is the core group).
KINDS = {
    ("", "v1"): ["Namespace", "ServiceAccount", "ConfigMap"],
    ("apps", "v1"): ["DaemonSet"],
    ("rbac.authorization.k8s.io", "v1"): ["ClusterRole", "ClusterRoleBinding"],
}
PREFIX = {"": CORE, "apps": APPS, "rbac.authorization.k8s.io": RBAC}


def gv_path(g, v):
    return "api/" + v if not g else "apis/%s/%s" % (g, v)


def document(g, v):
    """The OpenAPI v3 document of group g, version v: every schema (kubectl resolves references
    within the document), the top-level kinds tagged with their group-version-kind."""
    schemas = json.loads(json.dumps(SCHEMAS))
    for kind in KINDS[(g, v)]:
        schemas[PREFIX[g] + kind]["x-kubernetes-group-version-kind"] = [
            {"group": g, "version": v, "kind": kind}]
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (replay)", "version": "v1.32.0"},
            "paths": {}, "components": {"schemas": schemas}}


def _hash(g, v):
    return hashlib.sha512(json.dumps(document(g, v), sort_keys=True).encode()).hexdigest()[:32]


def index():
    """GET /openapi/v3: where each group-version's document is."""
    return {"paths": {gv_path(g, v): {"serverRelativeURL": "/openapi/v3/%s?hash=%s" %
                                      (gv_path(g, v), _hash(g, v))} for g, v in KINDS}}


def lookup(path):
    """The document for GET /openapi/v3/<path>, or None."""
    for g, v in KINDS:
        if path == gv_path(g, v):
            return document(g, v)
    return None


# OpenAPI v2, which kubectl's client-side validation reads (v3 only tells it whether the server
# would validate fields itself: these documents have no paths, so it validates). kubectl asks for
# gnostic's protobuf encoding (openapiv2/OpenAPIv2.proto), written here by hand: the few messages
# a schema needs.
# The Content-Type of the answer (the request's Accept has "@v1.0", which Go's mime parser, in
# the client's response handling, refuses).
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num, payload):
    """A length-delimited field (strings and messages: all this encoding needs)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _named(name, value):  # NamedSchema and NamedAny: name = 1, value = 2
    return _field(1, name) + _field(2, value)


def _v2_ref(r):
    return r.replace("#/components/schemas/", "#/definitions/")


def _schema_pb(s):
    """openapi.v2.Schema: _ref 1, format 2, required 19, additional_properties 21, type 22,
    items 23, properties 25, vendor_extension 31."""
    out = b""
    if "$ref" in s:
        return _field(1, _v2_ref(s["$ref"]))
    fmt = s.get("format")
    typ = s.get("type")
    if s.get("x-kubernetes-int-or-string"):
        typ, fmt = "string", "int-or-string"
    if fmt:
        out += _field(2, fmt)
    for r in s.get("required", []):
        out += _field(19, r)
    if isinstance(s.get("additionalProperties"), dict):
        out += _field(21, _field(1, _schema_pb(s["additionalProperties"])))
    if typ:
        out += _field(22, _field(1, typ))
    if "items" in s:
        out += _field(23, _field(1, _schema_pb(s["items"])))
    if "properties" in s:
        out += _field(25, b"".join(_field(1, _named(k, _schema_pb(v)))
                                   for k, v in sorted(s["properties"].items())))
    for k, v in sorted(s.items()):
        if k.startswith("x-kubernetes-") and k != "x-kubernetes-int-or-string":
            out += _field(31, _named(k, _field(2, json.dumps(v))))  # Any.yaml = 2 (JSON is YAML)
    return out


def swagger_schemas():
    """Every schema, the top-level kinds of every group-version tagged (as /openapi/v2 has them
    all in one document)."""
    schemas = json.loads(json.dumps(SCHEMAS))
    for (g, v), kinds in KINDS.items():
        for kind in kinds:
            schemas[PREFIX[g] + kind]["x-kubernetes-group-version-kind"] = [
                {"group": g, "version": v, "kind": kind}]
    return schemas


def swagger_json():
    """GET /openapi/v2 as JSON (the definitions with v2 references)."""
    text = json.dumps(swagger_schemas()).replace("#/components/schemas/", "#/definitions/")
    return {"swagger": "2.0", "info": {"title": "Kubernetes (replay)", "version": "v1.32.0"},
            "paths": {}, "definitions": json.loads(text)}


def swagger_protobuf():
    """GET /openapi/v2 as gnostic's openapi.v2.Document: swagger 1, info 2 (title 1, version 2),
    definitions 9 (NamedSchema 1)."""
    defs = b"".join(_field(1, _named(k, _schema_pb(v)))
                    for k, v in sorted(swagger_schemas().items()))
    return (_field(1, "2.0") + _field(2, _field(1, "Kubernetes (replay)") + _field(2, "v1.32.0"))
            + _field(9, defs))
