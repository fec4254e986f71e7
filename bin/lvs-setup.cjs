#!/usr/bin/env node
// A tiny launcher in CommonJS and old syntax, so that even an old Node can run it and explain
// what to do instead of failing with a syntax error.
'use strict';
var major = parseInt(process.versions.node.split('.')[0], 10);
if (major < 20) {
  var fs = require('fs');
  var os = '';
  try { os = fs.readFileSync('/etc/os-release', 'utf8'); } catch (e) { /* not Linux */ }
  var id = (/^ID="?([^"\n]*)"?/m.exec(os) || [])[1] || 'unknown';
  var ver = (/^VERSION_ID="?([^"\n]*)"?/m.exec(os) || [])[1] || '';
  var how;
  if (id === 'centos' && ver.indexOf('7') === 0) {
    how = 'CentOS 7 cannot run Node 20 (it needs glibc 2.28). Configure this VM without Node:\n' +
      '  on any other machine: npx lvs-setup plan --lab LAB.yaml --host NAME --target centos7 --format sh -o NAME.sh\n' +
      '  copy NAME.sh here and run: sudo sh NAME.sh';
  } else if (/^(rocky|almalinux|rhel|centos)$/.test(id)) {
    how = 'Install Node 20:  sudo dnf module install -y nodejs:20   (then run lvs-setup again)';
  } else if (id === 'debian' || id === 'ubuntu') {
    how = id + ' ' + ver + ' ships an older Node. Install Node 20 (e.g. the NodeSource packages or nvm), or\n' +
      'produce a shell script on another machine:  npx lvs-setup plan --lab LAB.yaml --host NAME --target ' +
      (id === 'debian' ? 'debian12' : 'ubuntu24') + ' --format sh -o NAME.sh';
  } else {
    how = 'Install Node 20 or newer, or run `lvs-setup plan --target <distro> --format sh` on another machine.';
  }
  process.stderr.write('lvs-setup needs Node 20 or newer; this is Node ' + process.versions.node + '.\n' + how + '\n');
  process.exit(2);
}
import('../dist/lvs-setup.js').catch(function (e) {
  process.stderr.write('lvs-setup: cannot start: ' + (e && e.message) + '\n');
  process.exit(1);
});
