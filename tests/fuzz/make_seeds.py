#!/usr/bin/env python3
"""Writes the seed corpora in corpus/<target>/ (run from tests/fuzz; the output is committed).
Seeds are small and realistic: what kube-apiserver, kubectl configs, exec plugins, registries and
build pods really send. Manifest seeds are content-addressed, so their digests are computed here."""
import glob, hashlib, json, os
import yaml

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.normpath(os.path.join(here, "..", ".."))

def write(target, name, text):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)

# Everything but the crash-* inputs the fuzzers found (kept as regression seeds) is rewritten.
for f in glob.glob(os.path.join(here, "corpus", "*", "*")):
    if not os.path.basename(f).startswith("crash-"):
        os.remove(f)

def j(o):
    return json.dumps(o, separators=(",", ":"), sort_keys=False)

# ---- watch_event --------------------------------------------------------------------------------
pod = {"kind": "Pod", "apiVersion": "v1",
       "metadata": {"name": "worker-39d77c9dd2", "namespace": "ci", "uid": "5c1f0a7e-2c1e-4b7d-9a57-3f0f6c1f8e21",
                    "resourceVersion": "48213", "labels": {"imagebuild.io/build-id": "53d33510", "imagebuild.io/role": "build"},
                    "ownerReferences": [{"apiVersion": "imagebuild.io/v1alpha1", "kind": "ImageBuild", "name": "worker",
                                         "uid": "0d3e", "controller": True, "blockOwnerDeletion": True}]},
       "spec": {"nodeName": "sandbox-amd64", "containers": [{"name": "build", "image": "moby/buildkit:rootless"}]},
       "status": {"phase": "Succeeded", "containerStatuses": [{"name": "build", "state": {"terminated": {
           "exitCode": 0, "reason": "Completed", "message": "sha256:" + "ab" * 32}}}]}}
ib = yaml.safe_load(open(os.path.join(repo, "deploy/examples/worker.yaml")))
ib.setdefault("metadata", {}).update({"resourceVersion": "48190", "generation": 2, "uid": "0d3e"})
write("watch_event", "added_pod", j({"type": "ADDED", "object": pod}))
write("watch_event", "modified_imagebuild", j({"type": "MODIFIED", "object": ib}))
write("watch_event", "deleted_pod", j({"type": "DELETED", "object": {**pod, "metadata": {**pod["metadata"], "deletionTimestamp": "2026-11-27T10:00:00Z"}}}))
write("watch_event", "bookmark", j({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": "48300", "annotations": {"k8s.io/initial-events-end": "true"}}}}))
write("watch_event", "error_gone", j({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "too old resource version: 1 (48213)", "reason": "Expired", "code": 410}}))
write("watch_event", "error_internal", j({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
    "message": "etcdserver: request timed out", "reason": "InternalError", "code": 500,
    "details": {"causes": [{"reason": "FieldValueInvalid", "field": "metadata.name", "message": "bad"}], "retryAfterSeconds": 1}}}))
write("watch_event", "node", j({"type": "ADDED", "object": {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "sandbox-arm64", "resourceVersion": "12",
    "labels": {"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64"}}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}}))

# Hostile depth (issue 12 part 5): cut by the decoder past 64 levels, then refused by the affinity rule.
deep_ib = json.loads(j(ib))
deep_ib["spec"]["platforms"][0]["affinity"] = {"nodeAffinity": "@DEEP@"}
write("watch_event", "deep_affinity", j({"type": "MODIFIED", "object": deep_ib}).replace('"@DEEP@"', '{"a":' * 1500 + "{}" + "}" * 1500))
write("watch_event", "deep_array", '{"type":"ADDED","object":{"metadata":{},"x":' + "[" * 7000 + "]" * 7000 + "}}")

# ---- list_splitter (a list body; the first byte picks the size of the pieces it is fed in) -------
def list_of(kind, items, rv="48300", cont=""):
    return j({"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": rv, "continue": cont}, "items": items})
write("list_splitter", "pod_list", "\x07" + list_of("PodList", [pod, pod]))
write("list_splitter", "imagebuild_list", "\x03" + list_of("ImageBuildList", [ib], cont="eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"))
write("list_splitter", "empty_list", "\x01" + list_of("ConfigMapList", []))
write("list_splitter", "escapes", "\x02" + '{"items":[{"s":"}]\\"{["},{"n":[1,{"a":[]}]}],"kind":"XList","n":-1.5e3}')
write("list_splitter", "truncated", "\x05" + list_of("PodList", [pod])[:300])

# ---- kubeconfig (kubeconfig files and ExecCredentials) -------------------------------------------
b64 = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmVENDQVNPZ0F3SUJBZ0lVZmFrZQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="
write("kubeconfig", "token", f"""apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: {b64}
users:
- name: operator
  user:
    token: eyJhbGciOiJSUzI1NiJ9.fake.token
contexts:
- name: local
  context: {{cluster: local, user: operator, namespace: ci}}
current-context: local
""")
write("kubeconfig", "client_cert", f"""apiVersion: v1
kind: Config
clusters:
- cluster: {{server: "https://[::1]:6443/", certificate-authority: pki/ca.crt}}
  name: c
users:
- name: admin
  user: {{client-certificate-data: {b64}, client-key-data: {b64}}}
- name: files
  user: {{client-certificate: pki/admin.crt, client-key: pki/admin.key}}
contexts:
- {{name: c, context: {{cluster: c, user: admin}}}}
- {{name: other, context: {{cluster: c, user: files}}}}
current-context: c
""")
write("kubeconfig", "exec", """apiVersion: v1
kind: Config
clusters:
- name: eks
  cluster: {server: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com', insecure-skip-tls-verify: true}
users:
- name: aws
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
      env:
      - {name: AWS_PROFILE, value: prod}
      - name: EMPTY
      interactiveMode: Never
contexts:
- name: other
  context: {cluster: eks, user: aws}
current-context: other
""")
write("kubeconfig", "basic_and_tokenfile", """apiVersion: v1
kind: Config
preferences: {}
clusters: [{name: a, cluster: {server: 'http://localhost:8080'}}]
users: [{name: u, user: {username: admin, password: pa55, tokenFile: ../token}}]
contexts: [{name: a, context: {cluster: a, user: u}}, {name: other, context: {cluster: a}}]
current-context: a
""")
write("kubeconfig", "auth_provider", """apiVersion: v1
kind: Config
clusters: [{name: gke, cluster: {server: 'https://34.1.2.3'}}]
users: [{name: g, user: {auth-provider: {name: gcp, config: {cmd-path: gcloud}}}}]
contexts: [{name: gke, context: {cluster: gke, user: g}}]
current-context: gke
""")
write("kubeconfig", "exec_credential_v1", j({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
    "status": {"token": "k8s-aws-v1.fake", "expirationTimestamp": "2026-12-01T10:15:00Z"}}))
write("kubeconfig", "exec_credential_cert", j({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
    "spec": {"interactive": False},
    "status": {"clientCertificateData": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
               "clientKeyData": "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n",
               "expirationTimestamp": "2026-12-01T10:15:00.123456+01:00"}}))

write("kubeconfig", "exec_credential_deep", '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t","x":' + "[" * 6000 + "]" * 6000 + "}}")

# ---- imagebuild ---------------------------------------------------------------------------------
for f in sorted(glob.glob(os.path.join(repo, "deploy/examples/*.yaml"))):
    obj = yaml.safe_load(open(f))
    write("imagebuild", os.path.basename(f)[:-5], j(obj))
traces = sorted(glob.glob(os.path.join(repo, "tests/unit/controller/traces/*.json")))
for f in traces[:4]:
    steps = json.load(open(f))
    status = next((s["status"] for s in steps if isinstance(s, dict) and s.get("status")), None)
    if status:
        obj = dict(ib)
        obj["status"] = status
        write("imagebuild", "with_status_" + os.path.basename(f)[:-5][:40], j(obj))
write("imagebuild", "full_spec", j({"apiVersion": "imagebuild.io/v1alpha1", "kind": "ImageBuild",
    "metadata": {"name": "api", "namespace": "ci", "generation": 3, "annotations": {"imagebuild.io/rebuild": "2"},
                 "creationTimestamp": "2026-11-27T10:00:00Z"},
    "spec": {"image": "localhost:5000/org/api", "version": "1.4.2-rc.1", "tags": ["main", "sha-1a2b3c"],
             "source": {"git": {"url": "https://github.com/org/repo.git", "revision": "refs/pull/42/head", "secretRef": {"name": "git-cred"}},
                        "contextDir": "services/api"},
             "dockerfile": "Dockerfile", "buildArgs": {"GO_VERSION": "1.21", "N": 3}, "target": "release",
             "platforms": [{"platform": "linux/amd64", "nodeSelector": {"pool": "x86"},
                            "tolerations": [{"key": "arch", "operator": "Equal", "value": "amd64", "effect": "NoSchedule"}],
                            "resources": {"limits": {"cpu": "2", "memory": "4Gi"}}},
                           {"platform": "linux/arm/v7", "dockerfile": "Dockerfile.arm",
                            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["arm"]}]}]}}}}],
             "builder": {"strategy": "buildkit", "image": "moby/buildkit:v0.12.4-rootless"}, "emulation": "Fallback",
             "cache": {"repository": "localhost:5000/org/cache", "disabled": False}, "pushSecretRef": {"name": "regcred"},
             "buildSecrets": [{"id": "npmrc", "secretRef": {"name": "npm", "key": ".npmrc"}}],
             "serviceAccountName": "builder", "timeout": "1h30m", "schedulingTimeout": "90s", "retries": 2,
             "failurePolicy": "AvailablePlatforms", "ttlSecondsAfterFinished": 3600}}))
write("imagebuild", "wrong_types", j({"apiVersion": "imagebuild.io/v1alpha1", "kind": "ImageBuild", "metadata": {"name": 5, "labels": [1]},
    "spec": {"image": "registry.example.com/org/worker", "version": 1.4, "tags": [1, None], "platforms": "linux/amd64",
             "retries": "1", "timeout": 30}, "status": {"platforms": {"a": 1}, "phase": 2, "conditions": "Ready"}}))

# Hostile depth, and the bad-input corpus (one seed per rule).
write("imagebuild", "deep_affinity", j(deep_ib).replace('"@DEEP@"', "[" * 3000 + "]" * 3000))
write("imagebuild", "deep_array", "[" * 8000 + "]" * 8000)
for f in sorted(glob.glob(os.path.join(repo, "tests/bad_input/*/*.yaml"))):
    write("imagebuild", "bad_input_" + os.path.basename(os.path.dirname(f)) + "_" + os.path.basename(f)[:-5], j(yaml.safe_load(open(f))))

# ---- termination_message ------------------------------------------------------------------------
write("termination_message", "digest", "sha256:601f13fc4fbefa8f39b593cad973095f06a286ab0edf2276bfccc5cc7fda2e23")
write("termination_message", "digest_newline", "sha256:20784f65097cf74678be1796cf18c8e1cfc140ee0bf0764082a426f0762db280\n")
write("termination_message", "sha512", "sha512:" + "0f" * 64)
write("termination_message", "merge_error", "platform linux/arm64: manifest sha256:" + "cd" * 32 + " is built for linux/amd64, not linux/arm64\n")
write("termination_message", "buildkit_log_tail", """#12 [build 4/5] RUN go build -o /out/worker ./cmd/worker
#12 0.912 go: downloading github.com/spf13/cobra v1.8.0
#12 41.02 # example.com/worker/internal
#12 41.02 internal/run.go:17:2: undefined: fmt.Printn
#12 ERROR: process "/bin/sh -c go build -o /out/worker ./cmd/worker" did not complete successfully: exit code: 1
------
 > [build 4/5] RUN go build -o /out/worker ./cmd/worker:
------
error: failed to solve: process "/bin/sh -c go build" did not complete successfully: exit code: 1
""")
write("termination_message", "utf8_log_tail", "Schritt 3/5: Abhängigkeiten ✓ — ビルド失敗 " * 8 + "\nexit status 1 ❌\n")
write("termination_message", "empty", "")

# ---- reference ----------------------------------------------------------------------------------
for i, s in enumerate(["registry.example.com/org/worker", "localhost:5000/team/app", "[::1]:5000/a/b/c",
                       "127.0.0.1:5000/x__y.z-w", "docker.io/library/alpine:3.19", "ghcr.io/org/app@sha256:" + "ab" * 32,
                       "quay.io/o/a:v1.4.2@sha256:" + "01" * 32, "v1.4.2", "latest", "_underscore.tag-1",
                       "sha256:" + "ab" * 32, "sha512:" + "cd" * 64, "linux/amd64", "linux/arm64/v8", "linux/arm",
                       "Linux/AArch64", "windows/amd64", "linux/armhf", "darwin/x86_64/v1", "linux/i386"]):
    write("reference", f"seed{i:02d}", s)

# ---- semver -------------------------------------------------------------------------------------
for i, s in enumerate(["v1.4.2", "1.4.2", "1.4.2-rc.1", "v2.0.0-alpha.1+build.5", "1.0.0+20261127", "v1.4.2\nmain\nlatest",
                       "\nmain\nsha-1a2b3c", "01.2.3", "v1.4", "0.0.0\n0.0\nv0.0.0", "1.2.3-0.3.7\nfeature_x"]):
    write("semver", f"seed{i:02d}", s)

# ---- www_authenticate ---------------------------------------------------------------------------
for i, s in enumerate(['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
                       'Basic realm="Registry Realm"',
                       'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/app:pull",error="insufficient_scope"',
                       'Bearer realm=https://127.0.0.1:5001/auth, service=registry.test, Basic realm="x"',
                       'Negotiate, Basic realm="corp \\"proxy\\"", charset="UTF-8"',
                       'bearer REALM="http://token.test/t" ,  Service = reg']):
    write("www_authenticate", f"seed{i:02d}", s)

# ---- manifest -----------------------------------------------------------------------------------
def digest(b):
    return "sha256:" + hashlib.sha256(b.encode()).hexdigest()
def config(arch, variant=None):
    c = {"architecture": arch, "os": "linux", "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/worker"]},
         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "aa" * 32]}, "history": [{"created_by": "COPY worker /"}]}
    if variant: c["variant"] = variant
    return j(c)
def image(cfg, mt="application/vnd.oci.image.manifest.v1+json", cmt="application/vnd.oci.image.config.v1+json"):
    return j({"schemaVersion": 2, "mediaType": mt, "config": {"mediaType": cmt, "size": len(cfg), "digest": digest(cfg)},
              "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 1234, "digest": "sha256:" + "bb" * 32}]})
err = j({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "latest"}}]})
c = config("amd64")
write("manifest", "oci_image", "\n--\n".join([image(c), c, err]))
cd = config("amd64")
write("manifest", "docker_image", "\n--\n".join([image(cd, "application/vnd.docker.distribution.manifest.v2+json",
                                                     "application/vnd.docker.container.image.v1+json"), cd]))
ca = config("arm64", "v8")
ma = image(ca)
att = j({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.in-toto+json", "size": 2, "digest": digest("{}")}, "layers": []})
mi = image(c)
idx = j({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(mi), "digest": digest(mi), "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(ma), "digest": digest(ma), "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(att), "digest": digest(att), "platform": {"architecture": "unknown", "os": "unknown"},
     "annotations": {"vnd.docker.reference.digest": digest(mi), "vnd.docker.reference.type": "attestation-manifest"}}]})
write("manifest", "buildkit_index", "\n--\n".join([idx, mi, c, ma, ca, att, "{}"]))
dl = j({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json", "manifests": [
    {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 528, "digest": "sha256:" + "cc" * 32,
     "platform": {"architecture": "amd64", "os": "linux"}}]})
write("manifest", "docker_list_unknown_child", "\n--\n".join([dl, j({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"}]})]))
write("manifest", "wrong_arch", "\n--\n".join([image(ca), ca]))
write("manifest", "deep_index", "\n--\n".join([j({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(mi), "digest": digest(mi),
                   "platform": {"architecture": "amd64", "os": "linux"}, "annotations": "@DEEP@"}]}).replace('"@DEEP@"', "[" * 5000 + "]" * 5000), mi, c]))
