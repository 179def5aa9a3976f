#!/usr/bin/env node
'use strict';
// cdk8s-cli with its update check off (bin/official-cli.js).
require('./official-cli').runOfficialCli('cdk8s-cli', 'cdk8s', { CDK8S_CHECK_UPGRADE: 'false' });
