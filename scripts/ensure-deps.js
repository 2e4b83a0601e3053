#!/usr/bin/env node
// Makes `npm start` and `npm test` work on a fresh clone: when node_modules is missing or
// was installed from another package-lock.json, runs `npm ci` (whose postinstall applies
// scripts/patches and stamps the lockfile hash). Plain Node, no dependencies.
'use strict'
const { createHash } = require('node:crypto')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const stamp = path.join(root, 'node_modules', '.nightshift-lock-hash')
const lockHash = () =>
  createHash('sha256')
    .update(fs.readFileSync(path.join(root, 'package-lock.json')))
    .digest('hex')

if (process.argv[2] === '--stamp') {
  fs.writeFileSync(stamp, lockHash())
  process.exit(0)
}

let current = ''
try {
  current = fs.readFileSync(stamp, 'utf8').trim()
} catch {
  // not installed, or installed before the stamp existed
}
if (current !== lockHash()) {
  console.error('nightshift: node_modules is missing or out of date; running npm ci')
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' })
}
