#!/usr/bin/env node
import { tuneHeapForThroughput } from '../dist/src/cli/heap-tuning.js'

tuneHeapForThroughput()
const { main } = await import('../dist/src/cli/main.js')
await main(process.argv)
