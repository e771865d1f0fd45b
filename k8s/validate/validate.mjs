// Validates rendered Kubernetes manifests (multi-document YAML, as
// `kubectl kustomize` prints them) against the Kubernetes API schemas.
// Run by scripts/validate-k8s.sh from a directory where package.json's
// dependencies are installed.
//
//   node validate.mjs [--metrics FILE] LABEL=RENDERED.yaml ...
//
// For every object:
//   1. schema: apiVersion/kind is mapped to its model class (kubernetes-models
//      for built-in kinds, @kubernetes-models/cloudnative-pg for CloudNativePG,
//      @kubernetes-models/prometheus-operator for PodMonitor/PrometheusRule,
//      @kubernetes-models/cert-manager for Certificate/Issuer)
//      and the model's validate() checks it against the API's JSON schema.
//      A kind with no model is an error, never skipped.
//   2. unknown fields: the JSON schemas accept any extra property (so does the
//      API server, which drops it with a warning), so a misspelt field would
//      pass. Every field is checked against the model's type declarations.
//   3. consistency across the objects of one rendering: duplicate objects,
//      selectors that match no pod template, references to ConfigMaps,
//      ServiceAccounts, volumes and named ports that do not exist.
//   4. PrometheusRule expressions parse as PromQL, and every token_* metric
//      they name is one the server exports (names read from --metrics FILE).
//
// Exit status: 0 all valid, 1 something invalid, 2 usage or tooling error.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import YAML from "yaml";
import { parser as promqlParser } from "@prometheus-io/lezer-promql";

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = path.join(here, "node_modules");

// API group -> npm package with its models. Built-in groups not listed here
// are looked up in kubernetes-models.
const CRD_PACKAGES = {
  "postgresql.cnpg.io": "@kubernetes-models/cloudnative-pg",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "cert-manager.io": "@kubernetes-models/cert-manager",
};

function usage(message) {
  console.error(`validate: ${message}`);
  console.error("usage: node validate.mjs [--metrics FILE] LABEL=RENDERED.yaml ...");
  process.exit(2);
}

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

// ---------------------------------------------------------------------------
// Model lookup.

function splitApiVersion(apiVersion) {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? ["", apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
}

// modelFile returns {pkg, js, dts} for apiVersion/kind, or null.
function modelFile(apiVersion, kind) {
  if (!/^[A-Za-z0-9.\-/]+$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind)) return null;
  const [group, version] = splitApiVersion(apiVersion);
  const pkg = CRD_PACKAGES[group] ?? "kubernetes-models";
  const sub = group === "" ? path.join(version, kind) : path.join(group, version, kind);
  const base = path.join(nodeModules, pkg, sub);
  if (!fs.existsSync(`${base}.js`)) return null;
  return { pkg, js: `${base}.js`, dts: `${base}.d.ts` };
}

const modelCache = new Map();
async function loadModel(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (!modelCache.has(key)) {
    const file = modelFile(apiVersion, kind);
    let model = null;
    if (file) {
      const mod = await import(pathToFileURL(file.js).href);
      const cls = mod[kind];
      if (cls && cls.apiVersion === apiVersion && cls.kind === kind) {
        model = { cls, pkg: file.pkg, dts: file.dts };
      }
    }
    modelCache.set(key, model);
  }
  return modelCache.get(key);
}

// ---------------------------------------------------------------------------
// Type declarations (.d.ts) of the models, for the unknown-field check. The
// generated declarations are regular: `export interface IName { "field"?: T; }`
// where T is a primitive, a literal union, Array<T>, { [key: string]: T; } or
// an interface imported from another declaration file under its full name.

function matchingClose(text, open) {
  const pairs = { "{": "}", "<": ">", "(": ")", "[": "]" };
  const stack = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      i = text.indexOf(c, i + 1);
      if (i < 0) return -1;
    } else if (pairs[c]) {
      stack.push(pairs[c]);
    } else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

// splitTop splits `text` at `sep` characters outside brackets and quotes.
function splitTop(text, sep) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      i = text.indexOf(c, i + 1);
      if (i < 0) break;
    } else if ("{<([".includes(c)) depth++;
    else if ("}>)]".includes(c)) depth--;
    else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

// parseMembers reads the members of an interface or object-literal body.
function parseMembers(body) {
  const fields = new Map();
  let index = null;
  for (const member of splitTop(body, ";")) {
    const idx = /^\[\s*\w+\s*:\s*string\s*\]\s*:\s*([\s\S]+)$/.exec(member);
    if (idx) {
      index = idx[1].trim();
      continue;
    }
    const m = /^(?:readonly\s+)?(?:"([^"]+)"|([A-Za-z_$][\w$]*))(\?)?\s*:\s*([\s\S]+)$/.exec(member);
    if (m) fields.set(m[1] ?? m[2], m[4].trim());
  }
  return { fields, index };
}

class Declarations {
  constructor() {
    this.files = new Map();
  }

  file(file) {
    if (this.files.has(file)) return this.files.get(file);
    const info = { file, interfaces: new Map(), exported: new Map(), typeAliases: new Map(), imports: new Map() };
    this.files.set(file, info);
    if (!fs.existsSync(file)) return info;
    const text = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
      for (const spec of m[1].split(",")) {
        const [orig, local] = spec.trim().split(/\s+as\s+/);
        if (orig) info.imports.set((local ?? orig).trim(), { name: orig.trim(), from: m[2] });
      }
    }
    for (const m of text.matchAll(/export\s+type\s*\{([^}]*)\}/g)) {
      for (const spec of m[1].split(",")) {
        const [orig, alias] = spec.trim().split(/\s+as\s+/);
        if (orig && alias) info.exported.set(alias.trim(), orig.trim());
      }
    }
    for (const m of text.matchAll(/export\s+type\s+(\w+)\s*=\s*/g)) {
      const end = splitTop(text.slice(m.index + m[0].length), ";")[0];
      info.typeAliases.set(m[1], end);
    }
    for (const m of text.matchAll(/export\s+interface\s+(\w+)(?:\s+extends\s+([^{]+))?\s*\{/g)) {
      const open = m.index + m[0].length - 1;
      const close = matchingClose(text, open);
      if (close < 0) continue;
      const { fields, index } = parseMembers(text.slice(open + 1, close));
      const ext = m[2] ? m[2].split(",").map((s) => s.trim()).filter(Boolean) : [];
      info.interfaces.set(m[1], { fields, index, ext, file });
    }
    return info;
  }

  importTarget(fromFile, spec) {
    if (spec.startsWith(".")) {
      return path.resolve(path.dirname(fromFile), spec).replace(/\.js$/, "") + ".d.ts";
    }
    const parts = spec.split("/");
    const pkgLen = spec.startsWith("@") ? 2 : 1;
    const pkg = parts.slice(0, pkgLen).join("/");
    const sub = parts.slice(pkgLen).join("/");
    const root = path.join(nodeModules, pkg);
    for (const candidate of [`${sub}.d.ts`, path.join(sub, "index.d.ts")]) {
      const f = path.join(root, candidate);
      if (sub !== "" && fs.existsSync(f)) return f;
    }
    return null;
  }

  // resolve returns a type descriptor for `name` as seen from `file`.
  resolve(name, file, seen = new Set()) {
    const key = `${file}#${name}`;
    if (seen.has(key)) return { k: "leaf" };
    seen.add(key);
    if (name === "TypeMeta") {
      return { k: "object", fields: new Map([["apiVersion", "string"], ["kind", "string"]]), index: null, file };
    }
    const info = this.file(file);
    const local = info.exported.get(name) ?? name;
    const iface = info.interfaces.get(local);
    if (iface) return { k: "iface", iface };
    if (info.typeAliases.has(local)) return this.parse(info.typeAliases.get(local), file, seen);
    const imp = info.imports.get(name);
    if (imp) {
      const target = this.importTarget(file, imp.from);
      if (target) return this.resolve(imp.name, target, seen);
    }
    return { k: "leaf" };
  }

  // parse turns a type expression into a descriptor.
  parse(type, file, seen = new Set()) {
    type = type.trim();
    const union = splitTop(type, "|");
    if (union.length > 1) return { k: "leaf" };
    let m = /^Array<([\s\S]+)>$/.exec(type);
    if (m) return { k: "array", of: m[1], file };
    if (type.endsWith("[]")) return { k: "array", of: type.slice(0, -2), file };
    if (type.startsWith("{") && matchingClose(type, 0) === type.length - 1) {
      const { fields, index } = parseMembers(type.slice(1, -1));
      return { k: "object", fields, index, file };
    }
    if (/^[A-Za-z_$][\w$]*$/.test(type)) {
      if (["string", "number", "boolean", "any", "unknown", "object", "null"].includes(type)) return { k: "leaf" };
      return this.resolve(type, file, seen);
    }
    return { k: "leaf" };
  }

  // members collects the fields of an interface, with those it extends.
  members(iface) {
    const fields = new Map(iface.fields);
    let index = iface.index;
    for (const base of iface.ext) {
      const d = this.resolve(base.replace(/<[\s\S]*>$/, ""), iface.file);
      const inner = d.k === "iface" ? this.members(d.iface) : d.k === "object" ? d : null;
      if (!inner) continue;
      for (const [k, v] of inner.fields) if (!fields.has(k)) fields.set(k, v);
      index = index ?? inner.index;
    }
    return { fields, index };
  }
}

const declarations = new Declarations();

function editDistance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                         d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function checkFields(value, desc, where, errors, depth = 0) {
  if (depth > 64 || value === null || value === undefined) return;
  switch (desc.k) {
    case "array":
      if (Array.isArray(value)) {
        const inner = declarations.parse(desc.of, desc.file);
        value.forEach((v, i) => checkFields(v, inner, `${where}/${i}`, errors, depth + 1));
      }
      return;
    case "iface":
    case "object": {
      if (!isObject(value)) return;
      const { fields, index } = desc.k === "iface" ? declarations.members(desc.iface) : desc;
      const file = desc.k === "iface" ? desc.iface.file : desc.file;
      for (const [key, v] of Object.entries(value)) {
        const here = `${where}/${key}`;
        if (fields.has(key)) {
          checkFields(v, declarations.parse(fields.get(key), file), here, errors, depth + 1);
        } else if (index !== null) {
          checkFields(v, declarations.parse(index, file), here, errors, depth + 1);
        } else {
          const close = [...fields.keys()].filter((f) => editDistance(f, key) <= 2);
          const hint = close.length ? ` (did you mean ${close.map((c) => `"${c}"`).join(" or ")}?)` : "";
          errors.push(`${here}: unknown field "${key}"${hint}`);
        }
      }
      return;
    }
    default:
      return;
  }
}

// ---------------------------------------------------------------------------
// Consistency across the objects of one rendering.

const POD_TEMPLATE_PATHS = {
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
  Pod: [],
};

function get(obj, keys) {
  return keys.reduce((o, k) => (isObject(o) ? o[k] : undefined), obj);
}

function idOf(o) {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : "";
  return `${o.kind} ${ns}${o.metadata?.name}`;
}

function selects(selector, labels) {
  if (!isObject(selector)) return false;
  const ml = selector.matchLabels ?? {};
  for (const [k, v] of Object.entries(ml)) if (labels?.[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = labels && Object.hasOwn(labels, e.key);
    const val = has ? labels[e.key] : undefined;
    if (e.operator === "In" && !(has && e.values.includes(val))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(val)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return Object.keys(ml).length > 0 || (selector.matchExpressions ?? []).length > 0;
}

function consistency(objects) {
  const problems = new Map(); // object -> [messages]
  const add = (o, msg) => {
    if (!problems.has(o)) problems.set(o, []);
    problems.get(o).push(msg);
  };
  const ns = (o) => o.metadata?.namespace ?? "";
  const byKind = (kind, namespace) => objects.filter((o) => o.kind === kind && ns(o) === namespace);
  const named = (kind, namespace, name) => byKind(kind, namespace).some((o) => o.metadata?.name === name);

  const seen = new Map();
  for (const o of objects) {
    const key = `${o.apiVersion?.split("/").length > 1 ? o.apiVersion.split("/")[0] : ""}/${idOf(o)}`;
    if (seen.has(key)) add(o, `duplicate object: ${idOf(o)} appears twice`);
    seen.set(key, o);
  }

  // Pod templates and the labels they carry.
  const templates = [];
  for (const o of objects) {
    const p = POD_TEMPLATE_PATHS[o.kind];
    if (!p) continue;
    const tpl = p.length ? get(o, p) : o;
    if (!isObject(tpl)) continue;
    templates.push({ owner: o, labels: tpl.metadata?.labels ?? {}, spec: tpl.spec ?? {} });
  }

  for (const t of templates) {
    const o = t.owner;
    const spec = t.spec;
    if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"].includes(o.kind) &&
        !selects(o.spec?.selector, t.labels)) {
      add(o, "spec.selector does not match the pod template's labels");
    }
    const sa = spec.serviceAccountName;
    if (sa && sa !== "default" && !named("ServiceAccount", ns(o), sa)) {
      add(o, `ServiceAccount "${sa}" is not among the rendered objects`);
    }
    const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
    for (const v of spec.volumes ?? []) {
      const cm = v.configMap?.name;
      if (cm && !v.configMap.optional && !named("ConfigMap", ns(o), cm)) {
        add(o, `volume "${v.name}": ConfigMap "${cm}" is not among the rendered objects`);
      }
    }
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name)) add(o, `container "${c.name}": volumeMount "${m.name}" has no volume`);
      }
      for (const e of c.envFrom ?? []) {
        const cm = e.configMapRef?.name;
        if (cm && !e.configMapRef.optional && !named("ConfigMap", ns(o), cm)) {
          add(o, `container "${c.name}": ConfigMap "${cm}" is not among the rendered objects`);
        }
      }
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.configMapKeyRef;
        if (ref && !ref.optional && !named("ConfigMap", ns(o), ref.name)) {
          add(o, `container "${c.name}": env ${e.name}: ConfigMap "${ref.name}" is not among the rendered objects`);
        }
      }
      const portNames = new Set((c.ports ?? []).map((p) => p.name).filter(Boolean));
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
        if (typeof port === "string" && !portNames.has(port)) {
          add(o, `container "${c.name}": ${probe} uses port "${port}", which the container does not name`);
        }
      }
    }
  }

  const templatesIn = (namespace) => templates.filter((t) => ns(t.owner) === namespace);
  for (const o of objects) {
    if (o.kind === "Service" && isObject(o.spec?.selector)) {
      const matched = templatesIn(ns(o)).filter((t) => selects({ matchLabels: o.spec.selector }, t.labels));
      if (matched.length === 0) add(o, "spec.selector matches no pod template");
      for (const port of o.spec.ports ?? []) {
        if (typeof port.targetPort !== "string") continue;
        const ok = matched.some((t) => (t.spec.containers ?? []).some(
          (c) => (c.ports ?? []).some((p) => p.name === port.targetPort)));
        if (matched.length && !ok) add(o, `port "${port.name}": targetPort "${port.targetPort}" is named by no selected container`);
      }
    }
    if (o.kind === "PodDisruptionBudget" &&
        !templatesIn(ns(o)).some((t) => selects(o.spec?.selector, t.labels))) {
      add(o, "spec.selector matches no pod template");
    }
    if (o.kind === "NetworkPolicy" && Object.keys(o.spec?.podSelector ?? {}).length > 0 &&
        !templatesIn(ns(o)).some((t) => selects(o.spec.podSelector, t.labels))) {
      add(o, "spec.podSelector matches no pod template");
    }
    if (o.kind === "HorizontalPodAutoscaler") {
      const ref = o.spec?.scaleTargetRef ?? {};
      if (!named(ref.kind, ns(o), ref.name)) add(o, `scaleTargetRef ${ref.kind} "${ref.name}" is not among the rendered objects`);
      if (o.spec?.minReplicas > o.spec?.maxReplicas) add(o, "minReplicas is above maxReplicas");
    }
    if (o.kind === "PodDisruptionBudget" && o.spec?.minAvailable !== undefined && o.spec?.maxUnavailable !== undefined) {
      add(o, "minAvailable and maxUnavailable are both set (the API allows one)");
    }
    if (o.kind === "ScheduledBackup" && !named("Cluster", ns(o), o.spec?.cluster?.name)) {
      add(o, `spec.cluster "${o.spec?.cluster?.name}" is not among the rendered objects`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------
// PromQL in PrometheusRule objects.

function promqlProblems(rule, exported) {
  const problems = [];
  for (const [gi, group] of (rule.spec?.groups ?? []).entries()) {
    for (const [ri, r] of (group.rules ?? []).entries()) {
      const where = `/spec/groups/${gi}/rules/${ri} (${r.alert ?? r.record ?? "?"})`;
      const expr = typeof r.expr === "string" ? r.expr : String(r.expr ?? "");
      const tree = promqlParser.parse(expr);
      let errorAt = -1;
      const metrics = [];
      tree.iterate({
        enter(n) {
          if (n.type.isError && errorAt < 0) errorAt = n.from;
          if (n.name === "Identifier" && n.node.parent?.name === "VectorSelector") {
            metrics.push(expr.slice(n.from, n.to));
          }
        },
      });
      if (errorAt >= 0) {
        problems.push(`${where}: PromQL syntax error at offset ${errorAt}: ...${expr.slice(Math.max(0, errorAt - 20), errorAt + 20)}...`);
      }
      if (exported) {
        for (const m of metrics) {
          if (m.startsWith("token_") && !exported.has(m)) {
            problems.push(`${where}: metric ${m} is not exported by the server`);
          }
        }
      }
      if (r.alert && !r.annotations?.runbook) problems.push(`${where}: alert has no "runbook" annotation`);
    }
  }
  return problems;
}

// Series names the server exports: token_* families from the metrics source,
// with the _bucket/_sum/_count series of histograms.
function exportedMetrics(file) {
  const text = fs.readFileSync(file, "utf8");
  const names = new Set();
  for (const m of text.matchAll(/Build(Counter|Gauge|Histogram|Summary)\(\)\s*\.Name\("(token_\w+)"\)/g)) {
    names.add(m[2]);
    if (m[1] === "Histogram" || m[1] === "Summary") {
      for (const s of ["_bucket", "_sum", "_count"]) names.add(m[2] + s);
    }
  }
  if (names.size === 0) usage(`no token_* metric definitions found in ${file}`);
  return names;
}

// ---------------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  let exported = null;
  const inputs = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--metrics") {
      if (i + 1 >= args.length) usage("--metrics needs a file");
      exported = exportedMetrics(args[++i]);
    } else if (args[i].includes("=")) {
      const eq = args[i].indexOf("=");
      inputs.push({ label: args[i].slice(0, eq), file: args[i].slice(eq + 1) });
    } else {
      usage(`unexpected argument "${args[i]}"`);
    }
  }
  if (inputs.length === 0) usage("nothing to validate");

  let total = 0;
  let invalid = 0;
  const kinds = new Map();
  for (const { label, file } of inputs) {
    const text = fs.readFileSync(file, "utf8");
    // Kubernetes reads YAML 1.1 (0440 is octal, yes/no are booleans).
    const docs = YAML.parseAllDocuments(text, { version: "1.1" });
    const objects = [];
    const results = [];
    for (const [i, doc] of docs.entries()) {
      if (doc.errors.length) {
        results.push({ id: `document ${i + 1}`, errors: doc.errors.map((e) => `YAML: ${e.message}`) });
        continue;
      }
      const o = doc.toJS();
      if (o === null || o === undefined) continue;
      if (!isObject(o) || typeof o.apiVersion !== "string" || typeof o.kind !== "string" ||
          !isObject(o.metadata) || typeof o.metadata.name !== "string") {
        results.push({ id: `document ${i + 1}`, errors: ["not a Kubernetes object (needs apiVersion, kind, metadata.name)"] });
        continue;
      }
      objects.push(o);
      const errors = [];
      const model = await loadModel(o.apiVersion, o.kind);
      let against = "";
      if (!model) {
        errors.push(`no schema known for ${o.apiVersion} ${o.kind}: refusing to pass it unchecked`);
      } else {
        against = `${model.pkg} ${o.apiVersion} ${o.kind}`;
        try {
          new model.cls(o).validate();
        } catch (e) {
          const list = Array.isArray(e.errors) && e.errors.length ? e.errors : [{ instancePath: "", message: e.message }];
          for (const err of list) errors.push(`${err.instancePath || "/"}: ${err.message ?? err.keyword}`);
        }
        checkFields(o, declarations.resolve(`I${o.kind}`, model.dts), "", errors);
        if (o.kind === "PrometheusRule") errors.push(...promqlProblems(o, exported));
      }
      results.push({ id: `${o.apiVersion} ${idOf(o)}`, object: o, against, errors });
    }
    const cross = consistency(objects);
    for (const r of results) if (r.object && cross.has(r.object)) r.errors.push(...cross.get(r.object));

    console.log(`== ${label}: ${results.length} objects`);
    for (const r of results) {
      total++;
      if (r.errors.length) {
        invalid++;
        console.log(`INVALID ${r.id}`);
        for (const e of r.errors) console.log(`    ${e}`);
      } else {
        console.log(`ok      ${r.id}  [${r.against}]`);
        kinds.set(r.against, (kinds.get(r.against) ?? 0) + 1);
      }
    }
  }
  console.log(`== ${total} objects checked, ${total - invalid} valid, ${invalid} invalid`);
  process.exit(invalid ? 1 : 0);
}

main().catch((e) => {
  console.error(`validate: ${e.stack ?? e}`);
  process.exit(2);
});
