// Validates every object of the given YAML files against the Kubernetes schemas (kubernetes-models) and,
// for custom resources, against the upstream CRD schemas (@kubernetes-models/*). ESM-only packages, so
// this runs as its own Node process. Prints JSON: { validated: [...], errors: [...] }.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

const CRD_PACKAGES = {
  'keda.sh': '@kubernetes-models/keda',
  'external-secrets.io': '@kubernetes-models/external-secrets',
  'argoproj.io': '@kubernetes-models/argo-cd',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'cert-manager.io': '@kubernetes-models/cert-manager',
};

function modulePath(apiVersion) {
  if (!apiVersion.includes('/')) return `kubernetes-models/${apiVersion}`;
  const [group, version] = apiVersion.split('/');
  const pkg = CRD_PACKAGES[group];
  return pkg ? `${pkg}/${group}/${version}` : `kubernetes-models/${group}/${version}`;
}

const validated = [];
const errors = [];
for (const file of process.argv.slice(2)) {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const [i, doc] of docs.entries()) {
    const obj = doc.toJS();
    if (!obj) continue;
    const where = `${file}#${i} ${obj.kind}/${obj.metadata?.name}`;
    let models;
    try {
      models = await import(modulePath(obj.apiVersion));
    } catch (e) {
      errors.push(`${where}: no schema for ${obj.apiVersion}: ${e.message}`);
      continue;
    }
    const Model = models[obj.kind];
    if (!Model) {
      errors.push(`${where}: ${obj.apiVersion} has no kind ${obj.kind}`);
      continue;
    }
    try {
      new Model(obj).validate();
      validated.push(`${obj.apiVersion}/${obj.kind}/${obj.metadata?.name}`);
    } catch (e) {
      errors.push(`${where}: ${e.message}`);
    }
  }
}
process.stdout.write(JSON.stringify({ validated, errors }));
