// Checks the transport security of a rendered overlay (multi-document YAML
// from `kubectl kustomize`), beyond what the API schemas can say.
//
//   node check-transport.mjs secure   RENDERED.yaml   (k8s/overlays/prod)
//   node check-transport.mjs plaintext RENDERED.yaml  (k8s/overlays/dev)
//
// secure: the token-server container runs with --tls-cert, --tls-key,
// --tls-client-ca and --authz-policy (as arguments or TOKEN_* variables of
// its ConfigMap), each file on a read-only Secret or ConfigMap volume with
// defaultMode 0440 and the pod has an fsGroup; the key Secret too; no
// --insecure-plaintext or --generate-keys; every probe is httpGet with
// scheme HTTPS on the HTTP port (/readyz for readiness, /healthz otherwise),
// none gRPC; a cert-manager Certificate writes the TLS Secret.
// plaintext: a plaintext pod on 0.0.0.0 must pass --insecure-plaintext, or
// the server refuses to start.
//
// Needs the "yaml" package: K8S_VALIDATE_CACHE is where validate-k8s.sh
// installed it. Exit status: 0 as required, 1 not, 2 usage error.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [mode, file] = process.argv.slice(2);
if (!["secure", "plaintext"].includes(mode) || !file) {
  console.error("usage: node check-transport.mjs secure|plaintext RENDERED.yaml");
  process.exit(2);
}
const cache = process.env.K8S_VALIDATE_CACHE;
if (!cache) {
  console.error("check-transport: K8S_VALIDATE_CACHE is not set");
  process.exit(2);
}
const YAML = createRequire(path.join(cache, "package.json"))("yaml");
const objects = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"), { version: "1.1" })
  .map((d) => d.toJS())
  .filter((o) => o && typeof o === "object");

const problems = [];
const fail = (message) => problems.push(message);
const deployment = objects.find((o) => o.kind === "Deployment" && o.metadata?.name === "token-server");
if (!deployment) {
  console.log("check-transport: no Deployment token-server rendered");
  process.exit(1);
}
const pod = deployment.spec.template.spec;
const container = (pod.containers ?? []).find((c) => c.name === "token-server");
if (!container) {
  console.log("check-transport: no container token-server");
  process.exit(1);
}

// settings: flag name -> value, from the ConfigMaps the container reads and
// then its arguments (which win, as in the server).
const settings = new Map();
for (const ref of container.envFrom ?? []) {
  const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata?.name === ref.configMapRef?.name);
  for (const [k, v] of Object.entries(cm?.data ?? {})) {
    if (k.startsWith("TOKEN_")) settings.set(k.slice(6).toLowerCase().replaceAll("_", "-"), String(v));
  }
}
for (const e of container.env ?? []) {
  if (e.name?.startsWith("TOKEN_") && e.value !== undefined) {
    settings.set(e.name.slice(6).toLowerCase().replaceAll("_", "-"), String(e.value));
  }
}
for (const arg of container.args ?? []) {
  const m = /^--(no)?([a-z-]+)(?:=(.*))?$/.exec(arg);
  if (m) settings.set(m[2], m[3] ?? (m[1] ? "false" : "true"));
}
const on = (flag) => ["true", "1", "yes"].includes(settings.get(flag) ?? "false");

if (mode === "plaintext") {
  if (!settings.get("tls-cert") && !on("insecure-plaintext")) {
    fail("plaintext on a non-loopback address without --insecure-plaintext: the server refuses to start");
  }
} else {
  const mounts = container.volumeMounts ?? [];
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  if (pod.securityContext?.fsGroup === undefined) fail("pod has no securityContext.fsGroup");
  // checkVolume returns volume `name`, checking it is a read-only 0440 Secret or ConfigMap.
  const checkVolume = (what, name, readOnly) => {
    const v = volumes.get(name);
    const source = v?.secret ?? v?.configMap;
    if (!source) return fail(`${what}: volume "${name}" is not a Secret or ConfigMap`);
    if (source.defaultMode !== 0o440) {
      fail(`${what}: volume "${name}" has defaultMode ${source.defaultMode?.toString(8) ?? "(default 0644)"}, want 0440`);
    }
    if (!readOnly) fail(`${what}: volume "${name}" is not mounted readOnly`);
    return v;
  };
  for (const flag of ["tls-cert", "tls-key", "tls-client-ca", "authz-policy"]) {
    const value = settings.get(flag);
    if (!value) {
      fail(`--${flag} is not set`);
      continue;
    }
    const mount = mounts.find((m) => value.startsWith(m.mountPath.replace(/\/?$/, "/")));
    if (!mount) {
      fail(`--${flag}=${value} is on no volume mount`);
      continue;
    }
    checkVolume(`--${flag}`, mount.name, mount.readOnly === true);
  }
  const keyDir = settings.get("key-dir");
  const keyMount = mounts.find((m) => m.mountPath.replace(/\/$/, "") === keyDir?.replace(/\/$/, ""));
  if (!keyMount) fail(`--key-dir=${keyDir} is not a volume mount`);
  else if (!checkVolume("--key-dir", keyMount.name, keyMount.readOnly === true)?.secret) {
    fail(`--key-dir: volume "${keyMount.name}" is not a Secret`);
  }
  for (const flag of ["insecure-plaintext", "generate-keys"]) {
    if (on(flag)) fail(`--${flag} is set`);
  }
  const expected = { startupProbe: "/healthz", readinessProbe: "/readyz", livenessProbe: "/healthz" };
  for (const [probe, wantPath] of Object.entries(expected)) {
    const p = container[probe];
    if (!p) {
      fail(`${probe} is missing`);
      continue;
    }
    if (p.grpc) fail(`${probe} is a gRPC probe: the kubelet cannot do TLS or present a client certificate`);
    const get = p.httpGet;
    if (!get) {
      fail(`${probe} is not httpGet`);
      continue;
    }
    if (get.scheme !== "HTTPS") fail(`${probe} uses scheme ${get.scheme ?? "HTTP"}, want HTTPS`);
    if (get.path !== wantPath) fail(`${probe} checks ${get.path}, want ${wantPath}`);
    if (get.port !== "http" && get.port !== 8080) fail(`${probe} is on port ${get.port}, want the HTTP port`);
  }
  const tlsMount = mounts.find((m) => settings.get("tls-cert")?.startsWith(m.mountPath));
  const tlsSecret = volumes.get(tlsMount?.name)?.secret?.secretName;
  const certificate = objects.find((o) => o.apiVersion === "cert-manager.io/v1" && o.kind === "Certificate" &&
                                         o.spec?.secretName === tlsSecret);
  if (!certificate) fail(`no cert-manager Certificate writes the TLS Secret "${tlsSecret}"`);
  else if (!certificate.spec.issuerRef?.name) fail(`Certificate ${certificate.metadata.name} has no issuerRef`);
}

for (const p of problems) console.log(`INSECURE ${p}`);
console.log(`check-transport ${mode}: ${problems.length === 0 ? "ok" : `${problems.length} problem(s)`}`);
process.exit(problems.length === 0 ? 0 : 1);
