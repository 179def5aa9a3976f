// Configuration, shared names and go-live policy checks: no CDK engine is loaded from here.
export * from './config/environment-config';
export * from './config/release';
export * from './config/names';
export * from './config/bootstrap';
export * from './config/capacity';
export * from './config/cluster-addons';
export * from './config/service-accounts';
export * from './config/service-environment';
export * from './policy/golive';
