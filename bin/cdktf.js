#!/usr/bin/env node
'use strict';
// cdktf-cli with its telemetry off (bin/official-cli.js).
require('./official-cli').runOfficialCli('cdktf-cli', 'cdktf', { CHECKPOINT_DISABLE: '1' });
