#!/usr/bin/env node
// The built CLI; this launcher exists before the build so that `npm install` can link the bin.
import '../dist/cli/main.js'
